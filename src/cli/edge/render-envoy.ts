import { join } from 'node:path';
import { stringify } from 'yaml';
import { type EdgeSettings, IDENTITY_HEADERS } from './edge-settings.ts';
import { KIT } from './kit-material.ts';

function cluster(name: string, url: string, caFile: string | undefined) {
  const u = new URL(url);
  const tls = u.protocol === 'https:';
  return {
    name,
    type: 'LOGICAL_DNS',
    connect_timeout: '2s',
    load_assignment: {
      cluster_name: name,
      endpoints: [
        {
          lb_endpoints: [
            {
              endpoint: {
                address: {
                  socket_address: { address: u.hostname, port_value: Number(u.port || (tls ? 443 : 80)) },
                },
              },
            },
          ],
        },
      ],
    },
    ...(tls
      ? {
          transport_socket: {
            name: 'envoy.transport_sockets.tls',
            typed_config: {
              '@type': 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext',
              sni: u.hostname,
              common_tls_context: caFile ? { validation_context: { trusted_ca: { filename: caFile } } } : {},
            },
          },
        }
      : {}),
  };
}

/**
 * An Envoy listener that terminates mTLS (platform CA, every level's CRL), forwards the verified certificate
 * in x-forwarded-client-cert (SANITIZE_SET: a client's own XFCC is dropped) and asks the Accredit decision
 * door through the HTTP ext_authz filter; allowed requests reach the API with the door's identity headers.
 */
export function envoyYaml(s: EdgeSettings): string {
  const bundle = join(s.dir, KIT.bundle);
  const config = {
    static_resources: {
      listeners: [
        {
          name: 'accredit_mtls',
          address: { socket_address: { address: '0.0.0.0', port_value: s.listenPort } },
          filter_chains: [
            {
              transport_socket: {
                name: 'envoy.transport_sockets.tls',
                typed_config: {
                  '@type':
                    'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext',
                  // Asked, not required: a DPoP-bound token needs none on an \`mtls: optional\` operation; the
                  // decision point refuses a missing certificate wherever the catalog requires one.
                  require_client_certificate: false,
                  common_tls_context: {
                    tls_params: { tls_minimum_protocol_version: 'TLSv1_2' },
                    tls_certificates: [
                      { certificate_chain: { filename: s.tlsCert }, private_key: { filename: s.tlsKey } },
                    ],
                    validation_context: {
                      // The platform CA and organisations' registered CAs (the decision door scopes each).
                      trusted_ca: { filename: join(s.dir, KIT.clientBundle) },
                      // A CRL for every level of the chain, kept current by `accredit edge sync`.
                      crl: { filename: join(s.dir, KIT.crlChain) },
                    },
                  },
                },
              },
              filters: [
                {
                  name: 'envoy.filters.network.http_connection_manager',
                  typed_config: {
                    '@type':
                      'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
                    stat_prefix: 'accredit',
                    forward_client_cert_details: 'SANITIZE_SET',
                    set_current_client_cert_details: { cert: true, chain: true, uri: true },
                    route_config: {
                      virtual_hosts: [
                        {
                          name: 'api',
                          domains: [s.serverName, `${s.serverName}:*`],
                          routes: [{ match: { prefix: '/' }, route: { cluster: 'protected_api' } }],
                        },
                      ],
                    },
                    http_filters: [
                      {
                        name: 'envoy.filters.http.ext_authz',
                        typed_config: {
                          '@type': 'type.googleapis.com/envoy.extensions.filters.http.ext_authz.v3.ExtAuthz',
                          transport_api_version: 'V3',
                          failure_mode_allow: false,
                          http_service: {
                            server_uri: { uri: s.decisionUrl, cluster: 'accredit_decision', timeout: '0.5s' },
                            path_prefix: '/ext_authz',
                            authorization_request: {
                              allowed_headers: {
                                patterns: [
                                  { exact: 'authorization', ignore_case: true },
                                  { exact: 'dpop', ignore_case: true },
                                  { exact: 'x-forwarded-client-cert', ignore_case: true },
                                  { exact: 'x-request-id', ignore_case: true },
                                ],
                              },
                            },
                            authorization_response: {
                              allowed_upstream_headers: {
                                patterns: IDENTITY_HEADERS.map((h) => ({ exact: h, ignore_case: true })),
                              },
                              allowed_client_headers: {
                                patterns: [
                                  { exact: 'www-authenticate', ignore_case: true },
                                  { exact: 'dpop-nonce', ignore_case: true },
                                  // Issue 16: a 429 rate_limited tells the client when to retry and its limits.
                                  { exact: 'retry-after', ignore_case: true },
                                  { exact: 'ratelimit', ignore_case: true },
                                  { exact: 'ratelimit-policy', ignore_case: true },
                                ],
                              },
                              // RFC 9449 §8.2: a fresh DPoP nonce reaches the client on successes too; so do the
                              // RateLimit headers.
                              allowed_client_headers_on_success: {
                                patterns: [
                                  { exact: 'dpop-nonce', ignore_case: true },
                                  { exact: 'ratelimit', ignore_case: true },
                                  { exact: 'ratelimit-policy', ignore_case: true },
                                ],
                              },
                            },
                          },
                        },
                      },
                      {
                        name: 'envoy.filters.http.router',
                        typed_config: {
                          '@type': 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router',
                        },
                      },
                    ],
                  },
                },
              ],
            },
          ],
        },
      ],
      clusters: [
        cluster('accredit_decision', s.decisionUrl, bundle),
        cluster('protected_api', s.upstreamUrl, '/etc/ssl/certs/ca-certificates.crt'),
      ],
    },
  };
  return `# Accredit edge kit for Envoy: terminate mTLS, ext_authz (HTTP) to the Accredit decision door.
# Generated by \`accredit edge export --for envoy\`; \`accredit edge sync\` keeps ${KIT.bundle} and
# ${KIT.crlChain} current (Envoy re-reads them on a hot restart or when told to by your reload command).
# The ext_authz check request goes to ${s.decisionUrl}/ext_authz<original path>.
${stringify(config, { lineWidth: 0 })}`;
}
