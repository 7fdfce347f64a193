// @peculiar/x509 resolves its providers through tsyringe, which needs the Reflect metadata polyfill loaded first.
import 'reflect-metadata';
import { webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';

// One place sets the WebCrypto provider so every generator and parser signs with Node's OpenSSL.
x509.cryptoProvider.set(webcrypto);

export { x509 };
