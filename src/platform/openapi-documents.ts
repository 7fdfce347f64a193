import type { FastifyInstance } from 'fastify';

// biome-ignore lint/suspicious/noExplicitAny: an OpenAPI document is plain JSON.
type OpenApiDocument = Record<string, any>;

/**
 * The public listener's routes are described once by @fastify/swagger; each API gets its own document: the
 * admin API (operators) and the partner API (organisation members) have different audiences and security.
 */
export function openApiDocumentFor(
  app: FastifyInstance,
  prefix: '/admin/v1' | '/partner/v1',
  info: { title: string; description: string },
  security: { name: string; scheme: OpenApiDocument },
): OpenApiDocument {
  const whole = app.swagger() as OpenApiDocument;
  const paths = Object.fromEntries(
    Object.entries(whole.paths ?? {}).filter(([path]) => path === prefix || path.startsWith(`${prefix}/`)),
  );
  return {
    ...whole,
    info: { ...whole.info, ...info },
    paths,
    components: {
      ...(whole.components ?? {}),
      securitySchemes: { [security.name]: security.scheme },
    },
    security: [{ [security.name]: [] }],
  };
}

/** Serves `/admin/v1/openapi.json` and `/partner/v1/openapi.json` (public: the documents hold no data). */
export function registerOpenApiDocuments(app: FastifyInstance): void {
  app.get('/admin/v1/openapi.json', { schema: { hide: true } }, async () =>
    openApiDocumentFor(
      app,
      '/admin/v1',
      {
        title: 'Accredit admin API',
        description:
          'Directory, PKI, federation and audit administration. Errors are RFC 9457 problem details.',
      },
      {
        name: 'operatorToken',
        scheme: {
          type: 'http',
          scheme: 'bearer',
          description:
            'An operator token, or the console session cookie of an operator account (x-csrf-token on changes)',
        },
      },
    ),
  );
  app.get('/partner/v1/openapi.json', { schema: { hide: true } }, async () =>
    openApiDocumentFor(
      app,
      '/partner/v1',
      {
        title: 'Accredit partner API',
        description:
          'Self-service for members of partner organisations: applications, certificates, software statements, ' +
          'test-plan runs and go-live. Authorised by organisation membership. Errors are RFC 9457 problem details.',
      },
      {
        name: 'consoleSession',
        scheme: {
          type: 'apiKey',
          in: 'cookie',
          name: '__Host-accredit-session',
          description: 'The console session (sign in at /console/); send x-csrf-token on every change',
        },
      },
    ),
  );
}
