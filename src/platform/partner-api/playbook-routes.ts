import { X509Certificate } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { AS_ROUTES } from '../../authorization-server/index.ts';
import { readCatalog } from '../../directory/index.ts';
import { splitCertificatePems } from '../../pki/index.ts';
import { renderCatalogJson } from '../partner-catalog/render-catalog-json.ts';
import { CA_BUNDLE_PATH } from '../paths.ts';
import type { PartnerDeps } from './deps.ts';
import { applicationOfOrg, clientParams, orgOf, partnerErrors, tags } from './lookup.ts';

export interface PlaybookStep {
  title: string;
  command: string;
}

/** Single-quotes a value for a POSIX shell (client ids and URLs are plain, but never trust that). */
const sh = (value: string) => `'${value.replace(/'/g, `'\\''`)}'`;

/**
 * The partner playbook: copy-ready openssl and curl commands for one application, filled with this
 * platform's URLs and the application's client_id. The private key is made and kept on the partner's side.
 */
export function playbookSteps(input: {
  clientId: string;
  authMethod: string;
  urls: { issuer: string; tokenEndpoint: string; gateway: string; caBundle: string };
  /** SHA-256 fingerprint of the bundle's first certificate, as `openssl x509 -fingerprint -sha256` prints it. */
  caFingerprint: string;
  /** A catalog operation the application may call (GET, no path parameter), or the gateway's root. */
  examplePath: string;
}): PlaybookStep[] {
  const { clientId, urls } = input;
  const mtls = new URL(urls.tokenEndpoint);
  const mtlsHostPort = `${mtls.hostname}:${mtls.port || '443'}`;
  const tls = '--cert client.pem --key client.key --cacert ca-bundle.pem';
  const tokenRequest =
    input.authMethod === 'private_key_jwt'
      ? `curl --fail-with-body ${tls} \\\n  -d grant_type=client_credentials -d client_id=${sh(clientId)} \\\n  -d client_assertion_type=urn:ietf:params:oauth:client-assertion-type:jwt-bearer \\\n  -d client_assertion="$CLIENT_ASSERTION" \\\n  ${sh(urls.tokenEndpoint)}`
      : `curl --fail-with-body ${tls} \\\n  -d grant_type=client_credentials -d client_id=${sh(clientId)} \\\n  ${sh(urls.tokenEndpoint)}`;
  return [
    {
      title:
        'Get the platform CA bundle (or use the one the portal saved) and check its fingerprint before trusting it',
      command: `curl --fail --insecure -o ca-bundle.pem ${sh(urls.caBundle)}\nopenssl x509 -in ca-bundle.pem -noout -fingerprint -sha256\n# must print: sha256 Fingerprint=${input.caFingerprint}`,
    },
    {
      title: 'Make a key and a CSR (the subject is set by the platform from the directory)',
      command: `openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \\\n  -keyout client.key -out client.csr -subj ${sh(`/CN=${clientId}`)}`,
    },
    {
      title: 'Check the certificate you received against the CA bundle',
      command: 'openssl verify -CAfile ca-bundle.pem client.pem',
    },
    {
      title: 'Check the key and the certificate belong together (both lines must match)',
      command:
        'openssl pkey -in client.key -pubout | sha256sum\nopenssl x509 -in client.pem -noout -pubkey | sha256sum',
    },
    {
      title: 'Open a mutual TLS connection to the token endpoint',
      command: `openssl s_client -connect ${mtlsHostPort} -servername ${mtls.hostname} \\\n  -cert client.pem -key client.key -CAfile ca-bundle.pem -brief </dev/null`,
    },
    {
      title: 'Get a certificate-bound access token (client credentials, RFC 8705)',
      command: `TOKEN=$(${tokenRequest.replace('curl --fail-with-body', 'curl -sS --fail-with-body')} \\\n  | sed -n 's/.*"access_token" *: *"\\([^"]*\\)".*/\\1/p')\necho "$TOKEN"`,
    },
    {
      title: 'Call the API through the gateway with the token and the same certificate',
      command: `curl --fail-with-body ${tls} \\\n  -H "Authorization: Bearer $TOKEN" \\\n  ${sh(`${urls.gateway.replace(/\/$/, '')}${input.examplePath}`)}`,
    },
  ];
}

export function registerPartnerPlaybookRoutes(app: FastifyInstance, deps: PartnerDeps): void {
  app.get(
    '/organisations/:orgId/applications/:clientId/playbook',
    {
      schema: {
        tags,
        summary: 'Copy-ready openssl and curl commands for this application, with this platform’s URLs',
        params: clientParams,
        response: {
          200: {
            type: 'object',
            properties: {
              client_id: { type: 'string' },
              environment: { type: 'string' },
              auth_method: { type: 'string' },
              urls: {
                type: 'object',
                properties: {
                  issuer: { type: 'string' },
                  token_endpoint: { type: 'string' },
                  gateway: { type: 'string' },
                  ca_bundle: { type: 'string' },
                },
              },
              steps: {
                type: 'array',
                items: {
                  type: 'object',
                  properties: { title: { type: 'string' }, command: { type: 'string' } },
                },
              },
            },
          },
          ...partnerErrors,
        },
      },
    },
    async (request) => {
      const { clientId } = request.params as { clientId: string };
      const application = await applicationOfOrg(deps, orgOf(request), clientId);
      const urls = {
        issuer: deps.urls.public,
        // RFC 8705 §5: the mTLS alias, the only token endpoint a client certificate reaches.
        tokenEndpoint: `${deps.urls.mtls}${AS_ROUTES.token}`,
        gateway: deps.urls.gateway,
        caBundle: `${deps.urls.public}${CA_BUNDLE_PATH}`,
      };
      const first = splitCertificatePems(deps.ca.chainPem)[0] ?? deps.ca.chainPem;
      const caFingerprint = new X509Certificate(first).fingerprint256;
      // An operation to show the gateway call with: GET, no path parameter, granted by the application's scopes.
      let examplePath = '/';
      if (deps.catalog) {
        const catalog = renderCatalogJson(await readCatalog(deps.storage.db), deps.catalog);
        const scopes = new Set(application.scopes);
        const fits = catalog.operations.filter(
          (o) => o.method === 'GET' && !o.deprecated && !/[{*]/.test(o.path),
        );
        const granted = fits.find((o) => o.public || o.scopes.some((alt) => alt.every((x) => scopes.has(x))));
        examplePath = (granted ?? fits[0])?.path ?? '/';
      }
      return {
        client_id: application.client_id,
        environment: application.environment,
        auth_method: application.auth_method,
        urls: {
          issuer: urls.issuer,
          token_endpoint: urls.tokenEndpoint,
          gateway: urls.gateway,
          ca_bundle: urls.caBundle,
        },
        steps: playbookSteps({
          clientId: application.client_id,
          authMethod: application.auth_method,
          urls,
          caFingerprint,
          examplePath,
        }),
      };
    },
  );
}
