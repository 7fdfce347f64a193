/** Who is acting and when, recorded with every change. */
export interface ActionMeta {
  actor: string;
  now: Date;
}
