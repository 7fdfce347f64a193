// @peculiar/x509 resolves its providers through tsyringe, which needs the Reflect metadata polyfill first.
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';

// The browser's own WebCrypto: keys are made and used here and never leave the page.
x509.cryptoProvider.set(globalThis.crypto);

export { x509 };
