// RFC 9457 problem details: every error a client sees is one of these, thrown anywhere and turned
// into a response in one place.
import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';

export interface FieldError {
  in: 'body' | 'path' | 'query' | 'header';
  /** A JSON pointer into the body ("/amount") or a parameter name */
  name: string;
  detail: string;
}

export interface ProblemBody {
  type: string;
  title: string;
  status: number;
  detail?: string;
  errors?: FieldError[];
}

const titles: Record<number, string> = {
  400: 'Bad Request',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  409: 'Conflict',
  413: 'Content Too Large',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Content',
  500: 'Internal Server Error',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
};

export class HttpProblem extends Error {
  constructor(
    readonly status: number,
    detail: string,
    readonly options: {
      type?: string;
      title?: string;
      errors?: FieldError[];
      /** Members of the problem beyond the standard ones (RFC 9457, 3.2) */
      extensions?: Record<string, unknown>;
      headers?: Record<string, string>;
    } = {},
  ) {
    super(detail);
    this.name = 'HttpProblem';
  }

  toBody(): ProblemBody {
    return {
      ...this.options.extensions,
      type: this.options.type ?? 'about:blank',
      title: this.options.title ?? titles[this.status] ?? 'Error',
      status: this.status,
      detail: this.message,
      ...(this.options.errors && { errors: this.options.errors }),
    };
  }
}

export function validationProblem(errors: FieldError[]): HttpProblem {
  const detail = errors.map((e) => `${e.in} ${e.name}: ${e.detail}`).join('; ');
  return new HttpProblem(400, detail, { type: '/problems/validation', title: 'Invalid request', errors });
}

export function problemResponse(problem: HttpProblem): APIGatewayProxyStructuredResultV2 {
  return {
    statusCode: problem.status,
    headers: { 'content-type': 'application/problem+json', ...problem.options.headers },
    body: JSON.stringify(problem.toBody()),
  };
}
