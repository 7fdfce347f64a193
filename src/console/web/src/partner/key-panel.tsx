import { type FormEvent, useState } from 'react';
import { Button, download, Field, Notice, ProblemAlert } from '../ui.tsx';
import { buildPkcs12, createCsrPem, generateKeyPair, privateKeyPem } from './browser-keys.ts';
import './partner.css';
import type { Certificate } from './types.ts';

/**
 * Get a certificate: make a key and a CSR here (WebCrypto; only the CSR is sent) or paste a CSR made
 * elsewhere. `submit` posts the CSR (issue or renew) and returns the issued certificate with the CA bundle.
 */
export function CertificateRequestPanel({
  clientId,
  submitLabel,
  submit,
}: {
  clientId: string;
  submitLabel: string;
  submit: (csr: string) => Promise<Certificate>;
}) {
  const [mode, setMode] = useState<'browser' | 'upload'>('browser');
  const [keys, setKeys] = useState<CryptoKeyPair | undefined>();
  const [keySaved, setKeySaved] = useState(false);
  const [csrText, setCsrText] = useState('');
  const [issued, setIssued] = useState<Certificate | undefined>();
  const [passphrase, setPassphrase] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>();

  const run = async (work: () => Promise<void>) => {
    setBusy(true);
    try {
      await work();
      setError(undefined);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  const generateAndSubmit = () =>
    run(async () => {
      const pair = await generateKeyPair();
      setKeys(pair);
      setKeySaved(false);
      const csr = await createCsrPem(pair, clientId);
      setIssued(await submit(csr));
    });

  const uploadAndSubmit = (event: FormEvent) => {
    event.preventDefault();
    return run(async () => {
      setKeys(undefined);
      setIssued(await submit(csrText));
    });
  };

  const bundle = issued?.ca_bundle_pem ?? '';
  const certPem = issued?.certificate_pem ?? '';
  return (
    <div className="partner-form">
      <ProblemAlert error={error} />
      {!issued ? (
        <>
          <fieldset className="partner-checks">
            <legend>How to make the key</legend>
            <label>
              <input
                type="radio"
                name={`mode-${clientId}`}
                value="browser"
                checked={mode === 'browser'}
                onChange={() => setMode('browser')}
              />{' '}
              Generate a key and a CSR in this browser (ECDSA P-256)
            </label>
            <label>
              <input
                type="radio"
                name={`mode-${clientId}`}
                value="upload"
                checked={mode === 'upload'}
                onChange={() => setMode('upload')}
              />{' '}
              Upload a CSR I made myself (openssl, an HSM, …)
            </label>
          </fieldset>
          {mode === 'browser' ? (
            <>
              <p className="partner-warning">
                The private key is made in this page and never sent: only the certificate request is. It is
                not stored anywhere — save it before you leave this page, or it is lost.
              </p>
              <div>
                <Button isDisabled={busy} onPress={generateAndSubmit}>
                  {busy ? 'Working…' : `Generate key and ${submitLabel.toLowerCase()}`}
                </Button>
              </div>
            </>
          ) : (
            <form onSubmit={uploadAndSubmit} className="partner-form" aria-label="Upload a CSR">
              <div className="field">
                <label htmlFor={`csr-${clientId}`}>Certificate request (PKCS#10, PEM)</label>
                <textarea
                  id={`csr-${clientId}`}
                  className="partner-csr"
                  required
                  value={csrText}
                  onChange={(e) => setCsrText(e.target.value)}
                />
              </div>
              <div className="partner-actions">
                <label className="button button-secondary" htmlFor={`csr-file-${clientId}`}>
                  Choose a CSR file
                </label>
                <input
                  id={`csr-file-${clientId}`}
                  className="visually-hidden"
                  type="file"
                  accept=".csr,.pem,.req,text/plain"
                  onChange={async (e) => {
                    const file = e.target.files?.[0];
                    if (file) setCsrText(await file.text());
                  }}
                />
                <Button type="submit" isDisabled={busy}>
                  {submitLabel}
                </Button>
              </div>
            </form>
          )}
        </>
      ) : (
        <>
          <Notice>
            Certificate {issued.serial} issued, valid until {new Date(issued.not_after).toUTCString()}.
          </Notice>
          <div className="partner-actions">
            <Button variant="secondary" onPress={() => download(`${clientId}.crt.pem`, certPem)}>
              Download certificate
            </Button>
            <Button variant="secondary" onPress={() => download('ca-bundle.pem', bundle)}>
              Download CA bundle
            </Button>
            <Button
              variant="secondary"
              onPress={() => download(`${clientId}.chain.pem`, `${certPem.trim()}\n${bundle.trim()}\n`)}
            >
              Download certificate and CA bundle
            </Button>
          </div>
          <div>
            <Button
              variant="secondary"
              onPress={() => {
                if (keys && !keySaved && !window.confirm('Your private key is not saved. Discard it?'))
                  return;
                setIssued(undefined);
                setKeys(undefined);
                setPassphrase('');
                setCsrText('');
              }}
            >
              Request another certificate
            </Button>
          </div>
        </>
      )}
      {keys ? (
        <section aria-label="Your private key" className="partner-form">
          <p className="partner-warning">
            {keySaved
              ? 'Private key saved. It stays in this page’s memory until you leave.'
              : 'Your private key exists only in this page: save it now.'}
          </p>
          <div>
            <Button
              variant="secondary"
              onPress={() =>
                run(async () => {
                  download(`${clientId}.key.pem`, await privateKeyPem(keys.privateKey));
                  setKeySaved(true);
                })
              }
            >
              Save private key (PEM)
            </Button>
          </div>
          {issued ? (
            <form
              className="partner-form"
              aria-label="Save as PKCS#12"
              onSubmit={(e) => {
                e.preventDefault();
                void run(async () => {
                  const p12 = await buildPkcs12(
                    keys.privateKey,
                    `${certPem.trim()}\n${bundle.trim()}\n`,
                    passphrase,
                    clientId,
                  );
                  download(`${clientId}.p12`, p12, 'application/x-pkcs12');
                  setKeySaved(true);
                });
              }}
            >
              <Field
                label="PKCS#12 passphrase"
                type="password"
                autoComplete="new-password"
                minLength={8}
                required
                hint="At least 8 characters; the file holds the key, the certificate and the CA chain."
                value={passphrase}
                onChange={(e) => setPassphrase(e.target.value)}
              />
              <div>
                <Button type="submit">Save as PKCS#12</Button>
              </div>
            </form>
          ) : null}
        </section>
      ) : null}
    </div>
  );
}
