// A separate process that writes audit entries and changes, for the multi-process storage contract tests.
import { recordAuditEvent } from '../../src/audit/index.ts';
import { CHANGE_KINDS, openStorage, publishChange } from '../../src/storage/index.ts';

const [optionsJson, prefix, count] = process.argv.slice(2);
const storage = await openStorage(JSON.parse(optionsJson ?? '{}'));
const now = new Date('2026-01-02T03:04:05.000Z');
for (let i = 0; i < Number(count); i++) {
  await storage.transaction(async (tx) => {
    await recordAuditEvent(
      tx,
      { actor: prefix ?? 'w', action: `a${i}`, targetType: 't', targetId: String(i) },
      now,
    );
    await publishChange(
      tx,
      { kind: CHANGE_KINDS.tokenRevoked, entityId: `${prefix}-${i}`, payload: {} },
      now,
    );
  });
}
await storage.close();
