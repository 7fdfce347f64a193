import './reflect-metadata-shim.ts';
import { webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';

// One place sets the WebCrypto provider so every generator and parser signs with Node's OpenSSL.
x509.cryptoProvider.set(webcrypto);

export { x509 };
