import type { RouteDef } from './types.ts';

export const routes: RouteDef[] = [];
