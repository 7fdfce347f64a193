export { createDpopNonces, type DpopNonces } from './dpop-nonce.ts';
