"""Put a committed run's verdict table on the README's first screen (between the verdicts markers).
Usage: readme-verdicts.py RESULTS_DIR "INTRO" — RESULTS_DIR holds report.json (docs/results/<name>)."""
import json, sys, re
results, intro = sys.argv[1], sys.argv[2]
report = json.load(open(f'{results}/report.json'))
rows = ['| system | claim | verdict |', '|---|---|---|']
for sec in report['sections']:
    for c in sec['claims']:
        rows.append(f"| {sec['title']} | {c['claim']} | {c['verdict']} |")
block = '<!-- verdicts:start -->\n' + intro.strip() + '\n\n' + '\n'.join(rows) + '\n<!-- verdicts:end -->'
text = open('README.md').read()
text = re.sub(r'<!-- verdicts:start -->.*?<!-- verdicts:end -->', lambda m: block, text, flags=re.S)
open('README.md', 'w').write(text)
