interface Preference {
  q: number;
  /** 2: the type itself, 1: `type/*`, 0: `*∕*`, -1: not acceptable. */
  specificity: number;
}

/** The q value the Accept header gives `type` (RFC 9110 §12.5.1): the most specific matching range wins. */
function preferenceOf(accept: string, type: string): Preference {
  const [major] = type.split('/');
  let best: Preference = { specificity: -1, q: 0 };
  for (const range of accept.split(',')) {
    const [mediaRange = '', ...params] = range.split(';').map((p) => p.trim().toLowerCase());
    const specificity =
      mediaRange === type ? 2 : mediaRange === `${major}/*` ? 1 : mediaRange === '*/*' ? 0 : -1;
    if (specificity <= best.specificity) continue;
    const qParam = params.find((p) => p.startsWith('q='));
    const q = qParam === undefined ? 1 : Number(qParam.slice(2));
    best = { specificity, q: Number.isFinite(q) ? q : 0 };
  }
  return best;
}

/**
 * `GET /catalog` answers JSON to a client that prefers it over HTML, or names it where HTML is only a wildcard
 * at the same q (`application/json, *∕*` of HTTP libraries); browsers, curl and `*∕*` get the page.
 */
export function prefersJson(accept: string | undefined): boolean {
  if (accept === undefined || accept.trim() === '') return false;
  const json = preferenceOf(accept, 'application/json');
  const html = preferenceOf(accept, 'text/html');
  if (json.q !== html.q) return json.q > html.q;
  return json.q > 0 && json.specificity > html.specificity;
}
