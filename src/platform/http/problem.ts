import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { isCodedError } from '../../shared/app-error.ts';

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

/** RFC 9457 problem details; `code` and `errors` are our extension members. */
export interface Problem {
  type: string;
  title: string;
  status: number;
  detail?: string;
  code: string;
  instance?: string;
  errors?: unknown[];
  [extension: string]: unknown;
}

const TITLES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  409: 'Conflict',
  410: 'Gone',
  413: 'Content Too Large',
  415: 'Unsupported Media Type',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

export function problem(
  status: number,
  code: string,
  detail?: string,
  extra: Record<string, unknown> = {},
): Problem {
  return {
    type: `urn:accredit:problem:${code}`,
    title: TITLES[status] ?? 'Error',
    status,
    code,
    ...(detail ? { detail } : {}),
    ...extra,
  };
}

/** The one place where errors become wire responses: known errors keep their code, everything else is a bare 500. */
export function toProblem(err: unknown, request: FastifyRequest): Problem {
  if (isCodedError(err) && err.status >= 400 && err.status < 600) {
    const extra: Record<string, unknown> = {};
    if (err.expose) {
      if (err.details) Object.assign(extra, err.details);
      if (Array.isArray(err.findings)) extra.errors = err.findings;
    }
    return problem(err.status, err.code, err.expose ? err.message : undefined, {
      instance: request.url.split('?')[0],
      ...extra,
    });
  }
  const fe = err as Partial<FastifyError>;
  if (fe.validation) {
    return problem(400, 'invalid_input', `request ${fe.validationContext ?? 'input'} is not valid`, {
      instance: request.url.split('?')[0],
      errors: fe.validation.map((v) => ({
        field: v.instancePath || (v.params as { missingProperty?: string }).missingProperty || '',
        message: v.message,
      })),
    });
  }
  if (typeof fe.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) {
    // Fastify's own client errors (bad JSON, body too large, wrong content type): safe, generic messages.
    const code =
      fe.code === 'FST_ERR_CTP_BODY_TOO_LARGE'
        ? 'body_too_large'
        : fe.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE'
          ? 'unsupported_media_type'
          : 'invalid_request';
    return problem(
      fe.statusCode,
      code,
      fe.statusCode === 400 ? 'request body is not valid JSON' : fe.message,
      {
        instance: request.url.split('?')[0],
      },
    );
  }
  return problem(500, 'internal_error', 'an internal error occurred; it has been logged', {
    instance: request.url.split('?')[0],
  });
}

export function sendProblem(reply: FastifyReply, body: Problem): FastifyReply {
  return reply.code(body.status).header('content-type', PROBLEM_CONTENT_TYPE).send(body);
}
