import type { FastifyInstance } from 'fastify';
import { AppError } from '../../shared/app-error.ts';
import { exceedsJsonDepth, MAX_JSON_DEPTH } from '../../shared/json-depth.ts';

/**
 * Fastify's JSON parser (prototype-poisoning checks included) behind a depth bound: a body nested deeper than
 * MAX_JSON_DEPTH is a 400 before anything parses or walks it, never a stack overflow (a 500) further on.
 * Size is bounded by the server's bodyLimit, which this parser keeps.
 */
export function registerBoundedJsonParser(app: FastifyInstance): void {
  const parse = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    if (exceedsJsonDepth(body as string, MAX_JSON_DEPTH)) {
      done(new AppError('json_too_deep', 400, `the JSON body nests deeper than ${MAX_JSON_DEPTH} levels`));
      return;
    }
    parse(request, body as string, done);
  });
}
