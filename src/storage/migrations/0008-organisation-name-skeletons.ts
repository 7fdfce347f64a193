import type { Kysely } from 'kysely';
import { nameSkeleton } from '../../shared/name-skeleton.ts';

// biome-ignore lint/suspicious/noExplicitAny: migrations must not depend on the evolving Database type.
type AnyDb = Kysely<any>;

/**
 * Organisation names that look alike (UTS #39 skeletons) are one name: a UNIQUE index on the skeleton makes
 * the second of two concurrent creates fail on both engines. Existing organisations are backfilled in creation
 * order; one whose name looks like an earlier one's keeps a NULL skeleton (NULLs never collide), so the
 * migration never fails on real data, and is named in a process warning for the operator to rename or offboard.
 * The skeleton depends on the confusables data: a newer data version needs a migration that recomputes it.
 */
export const organisationNameSkeletonsMigration = {
  async up(db: AnyDb): Promise<void> {
    await db.schema.alterTable('organisations').addColumn('name_skeleton', 'text').execute();
    const orgs = (await db
      .selectFrom('organisations')
      .select(['id', 'name'])
      .orderBy('created_at')
      .orderBy('id')
      .execute()) as Array<{ id: string; name: string }>;
    const holders = new Map<string, string>();
    const lookalikes: string[] = [];
    for (const org of orgs) {
      const skeleton = nameSkeleton(org.name);
      const holder = holders.get(skeleton);
      if (holder !== undefined) {
        lookalikes.push(`${org.id} looks like ${holder}`);
        continue;
      }
      holders.set(skeleton, org.id);
      await db
        .updateTable('organisations')
        .set({ name_skeleton: skeleton })
        .where('id', '=', org.id)
        .execute();
    }
    await db.schema
      .createIndex('organisations_name_skeleton_unique')
      .on('organisations')
      .column('name_skeleton')
      .unique()
      .execute();
    if (lookalikes.length > 0) {
      process.emitWarning(
        `organisations with look-alike names (left without a skeleton): ${lookalikes.join('; ')}`,
        { code: 'ACCREDIT_LOOKALIKE_ORGANISATIONS' },
      );
    }
  },
};
