/** Who is acting and when, recorded with every change (the directory's ActionMeta, without importing it). */
export interface AuthorityActionMeta {
  actor: string;
  now: Date;
}
