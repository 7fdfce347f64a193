import { type CatalogDocument, catalogRoutesPayload, readCatalog } from '../../../src/directory/index.ts';
import { CHANGE_KINDS, publishChange, type Storage } from '../../../src/storage/index.ts';

/**
 * Adds `document` to the active catalog tables, row by row, as the directory's apply step does; with `publish`,
 * announces it as the directory does, with a `catalog.changed` carrying the whole new route table.
 */
export async function writeCatalogRows(
  storage: Storage,
  document: CatalogDocument,
  options: { publish: boolean },
): Promise<void> {
  await storage.transaction(async (tx) => {
    for (const r of document.resources) await tx.db.insertInto('catalog_resources').values(r).execute();
    for (const s of document.scopes) await tx.db.insertInto('scopes').values(s).execute();
    for (const r of document.roles) {
      await tx.db
        .insertInto('roles')
        .values({ name: r.name, description: r.description, status: r.status })
        .execute();
      for (const scope of r.scopes)
        await tx.db.insertInto('role_scopes').values({ role: r.name, scope }).execute();
    }
    for (const o of document.operations) {
      const { required_scopes, rate_limit: _limit, ...row } = o;
      await tx.db.insertInto('catalog_operations').values(row).execute();
      for (const [alternative, scopes] of required_scopes.entries()) {
        for (const scope of scopes) {
          await tx.db
            .insertInto('catalog_operation_scopes')
            .values({ operation_id: o.id, alternative, scope })
            .execute();
        }
      }
    }
    if (options.publish) {
      const routes = catalogRoutesPayload(await readCatalog(tx.db));
      await publishChange(
        tx,
        {
          kind: CHANGE_KINDS.catalogChanged,
          entityId: document.operations[0]?.id ?? 'catalog',
          payload: { routes },
        },
        new Date(),
      );
    }
  });
}
