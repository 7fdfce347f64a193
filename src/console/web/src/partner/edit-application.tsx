import { type FormEvent, useState } from 'react';
import { useParams } from 'react-router';
import { api } from '../api.ts';
import { Button, Field, Notice, ProblemAlert } from '../ui.tsx';
import './partner.css';
import { type Application, orgPath } from './types.ts';

/** Rename the application or change its redirect URIs (one per line). */
export function EditApplicationForm({
  application,
  onSaved,
}: {
  application: Application;
  onSaved: () => void;
}) {
  const { orgId = '' } = useParams();
  const current = Array.isArray(application.metadata?.redirect_uris)
    ? (application.metadata.redirect_uris as string[])
    : [];
  const [name, setName] = useState(application.name);
  const [uris, setUris] = useState(current.join('\n'));
  const [saved, setSaved] = useState(false);
  const [error, setError] = useState<unknown>();
  const save = async (event: FormEvent) => {
    event.preventDefault();
    try {
      await api(`${orgPath(orgId)}/applications/${encodeURIComponent(application.client_id)}`, {
        method: 'PATCH',
        body: {
          name,
          redirect_uris: uris
            .split('\n')
            .map((u) => u.trim())
            .filter(Boolean),
        },
      });
      setError(undefined);
      setSaved(true);
      onSaved();
    } catch (err) {
      setSaved(false);
      setError(err);
    }
  };
  return (
    <form className="partner-form" onSubmit={save} aria-label="Edit the application">
      <ProblemAlert error={error} />
      {saved ? <Notice>Saved.</Notice> : null}
      <Field
        label="Application name"
        required
        maxLength={200}
        value={name}
        onChange={(e) => setName(e.target.value)}
      />
      <div className="field">
        <label htmlFor={`uris-${application.client_id}`}>Redirect URIs (one per line, https)</label>
        <textarea
          id={`uris-${application.client_id}`}
          className="partner-csr"
          value={uris}
          onChange={(e) => setUris(e.target.value)}
        />
      </div>
      <div>
        <Button type="submit" variant="secondary">
          Save changes
        </Button>
      </div>
    </form>
  );
}
