// Errors in OpenAI's shape: {"error": {"message", "type", "param", "code"}}, with the HTTP status
// that goes with each. The server never answers bad input with a 500: anything a request can get
// wrong is an ApiError with its 4xx status.
import { GptkitError } from '../util/errors.ts';

export type ApiErrorType = 'invalid_request_error' | 'authentication_error' | 'not_found_error' | 'rate_limit_error' | 'server_error';

export class ApiError extends GptkitError {
  constructor(
    readonly status: 400 | 401 | 404 | 413 | 429 | 500 | 503,
    readonly type: ApiErrorType,
    message: string,
    readonly param: string | null = null,
    readonly code: string | null = null,
  ) {
    super('api', message);
  }

  toJSON(): { error: { message: string; type: ApiErrorType; param: string | null; code: string | null } } {
    return { error: { message: this.message, type: this.type, param: this.param, code: this.code } };
  }
}

/** A bad field: 400 naming it. */
export function invalid(param: string, message: string, code = 'invalid_value'): ApiError {
  return new ApiError(400, 'invalid_request_error', message, param, code);
}
