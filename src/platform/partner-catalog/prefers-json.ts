/** The q value the Accept header gives `type` (RFC 9110 §12.5.1): the most specific matching range wins. */
function qualityOf(accept: string, type: string): number {
  const [major] = type.split('/');
  let best = { specificity: -1, q: 0 };
  for (const range of accept.split(',')) {
    const [mediaRange = '', ...params] = range.split(';').map((p) => p.trim().toLowerCase());
    const specificity =
      mediaRange === type ? 2 : mediaRange === `${major}/*` ? 1 : mediaRange === '*/*' ? 0 : -1;
    if (specificity <= best.specificity) continue;
    const qParam = params.find((p) => p.startsWith('q='));
    const q = qParam === undefined ? 1 : Number(qParam.slice(2));
    best = { specificity, q: Number.isFinite(q) ? q : 0 };
  }
  return best.q;
}

/** `GET /catalog` answers JSON only to a client that prefers it over HTML; browsers, curl and `*∕*` get the page. */
export function prefersJson(accept: string | undefined): boolean {
  if (accept === undefined || accept.trim() === '') return false;
  return qualityOf(accept, 'application/json') > qualityOf(accept, 'text/html');
}
