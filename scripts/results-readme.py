"""Write docs/results/<name>/README.md for a committed ladder run: the command, commit, machine,
time and memory (from the run's /usr/bin/time -v log), every stage's seconds (summary.json), and the
verdict table (report.json), so the page and the README's first screen say the same thing.
Usage: results-readme.py RUN_DIR OUT_DIR TIME_LOG "COMMAND" COMMIT "MACHINE" [NOTES_FILE]"""
import json, re, shutil, sys, os

run, out, time_log, command, commit, machine = sys.argv[1:7]
notes = open(sys.argv[7]).read().strip() if len(sys.argv) > 7 else ''
os.makedirs(out, exist_ok=True)
abs_run = os.path.abspath(run)
for f in ['report.html', 'report.json', 'summary.json']:
    text = open(os.path.join(run, f)).read().replace(abs_run, 'runs/main')
    open(os.path.join(out, f), 'w').write(text)
report = json.load(open(os.path.join(out, 'report.json')))
summary = json.load(open(os.path.join(out, 'summary.json')))
log = open(time_log).read()
def grab(label):
    m = re.search(re.escape(label) + r':\s*(.+)', log)
    return m.group(1).strip() if m else '?'
wall = grab('Elapsed (wall clock) time (h:mm:ss or m:ss)')
user, sys_ = float(grab('User time (seconds)')), float(grab('System time (seconds)'))
rss_gb = int(grab('Maximum resident set size (kbytes)')) / 1024 / 1024

def dur(s):
    s = int(round(s))
    return f'{s // 3600}h{s % 3600 // 60:02d}m{s % 60:02d}s' if s >= 3600 else f'{s // 60}m{s % 60:02d}s'

lines = [f"# The ladder at the {report['preset']} preset — one run", '',
         f'- Command: `{command}`.', f'- Code: commit {commit}.', f'- Machine: {machine}.',
         f'- Time: {wall} wall clock; {dur(user)} user + {dur(sys_)} system CPU time. Peak memory {rss_gb:.1f} GB resident.',
         '- Files: `report.html` (the report card; paths rewritten to `runs/main`), `report.json`, `summary.json`.', '']
if notes:
    lines += [notes, '']
def secs(t):
    m = re.fullmatch(r'(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?', t)
    return int(m.group(1) or 0) * 3600 + int(m.group(2) or 0) * 60 + int(m.group(3) or 0)
# Each stage's seconds as the run recorded them, else from the progress lines' elapsed times.
starts = [(m.group(1), secs(m.group(2))) for m in re.finditer(r'^== \[\d+/\d+\] ([\w-]+): .*\| elapsed (\S+)', log, re.M)]
from_log = {name: (starts[i + 1][1] if i + 1 < len(starts) else None) for i, (name, _) in enumerate(starts)}
from_log = {name: (end - start if end is not None else None) for (name, start), end in zip(starts, from_log.values())}
lines += ['## Stage times', '', '| stage | seconds |', '|---|---|']
for stage, v in summary['stages'].items():
    t = v.get('seconds')
    if t is None:
        t = from_log.get(stage)
    if t is not None:
        lines.append(f"| {stage} | {t:.0f} |")
lines += ['', '## Verdicts', '', '| system | claim | measured | verdict |', '|---|---|---|---|']
for sec in report['sections']:
    for c in sec['claims']:
        m = c.get('measured', '').replace('|', '/').replace('\n', ' ')
        lines.append(f"| {sec['title']} | {c['claim']} | {m} | {c['verdict']} |")
open(os.path.join(out, 'README.md'), 'w').write('\n'.join(lines) + '\n')
print('\n'.join(lines[-(sum(len(s['claims']) for s in report['sections']) + 2):]))
