import { invalidInput } from '../shared/app-error.ts';

export const HTTP_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'] as const;

// A pattern is literal segments, `{name}` for exactly one segment, and an optional final `**` for any rest.
const SEGMENT = /^(?:[A-Za-z0-9._~!$&'()*+,;=:@-]+|\{[a-z][a-zA-Z0-9_]*\})$/;

export function validateRoutePattern(method: string, pattern: string): void {
  if (!(HTTP_METHODS as readonly string[]).includes(method)) {
    throw invalidInput(`method must be one of ${HTTP_METHODS.join(', ')}`, { field: 'method' });
  }
  if (!pattern.startsWith('/') || pattern.length > 512) {
    throw invalidInput('path pattern must start with / and be at most 512 characters', {
      field: 'path_pattern',
    });
  }
  const segments = pattern.slice(1).split('/');
  segments.forEach((segment, i) => {
    if (segment === '**' && i === segments.length - 1) return;
    if (!SEGMENT.test(segment) || segment.includes('*')) {
      throw invalidInput(`path pattern segment "${segment}" is not a literal, {param} or a final **`, {
        field: 'path_pattern',
      });
    }
  });
}
