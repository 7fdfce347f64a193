import { type Agent, request } from 'undici';

/** The operator's calls the destructive cases make, over the admin API with a bearer operator token. */
export class AdminApi {
  readonly #base: string;
  readonly #token: string;
  readonly #agent: Agent;

  constructor(base: string, token: string, agent: Agent) {
    this.#base = base;
    this.#token = token;
    this.#agent = agent;
  }

  async #call<T>(method: string, path: string, body: unknown): Promise<T> {
    const res = await request(new URL(`/admin/v1${path}`, this.#base), {
      method: method as 'POST',
      dispatcher: this.#agent,
      headers: { authorization: `Bearer ${this.#token}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    const text = await res.body.text();
    if (res.statusCode >= 300) {
      // RFC 9457 detail when there is one; never the request (it may hold a CSR) nor the token.
      let detail = '';
      try {
        const p = JSON.parse(text) as { code?: string; detail?: string };
        detail = [p.code, p.detail].filter(Boolean).join(': ');
      } catch {
        // not a problem document
      }
      throw new Error(`admin API ${method} ${path}: HTTP ${res.statusCode}${detail ? ` ${detail}` : ''}`);
    }
    return JSON.parse(text) as T;
  }

  /** A further certificate for the same application, from a CSR. */
  issueCertificate(clientId: string, csrPem: string): Promise<{ serial: string; certificate_pem: string }> {
    return this.#call('POST', `/applications/${encodeURIComponent(clientId)}/certificates`, { csr: csrPem });
  }

  revokeCertificate(serial: string): Promise<unknown> {
    return this.#call('POST', `/certificates/${encodeURIComponent(serial)}/revoke`, {
      reason: 'cessationOfOperation',
    });
  }

  suspendApplication(clientId: string): Promise<unknown> {
    return this.#call('POST', `/applications/${encodeURIComponent(clientId)}/suspend`, {
      reason: 'accredit testplan run: revocation case',
    });
  }
}
