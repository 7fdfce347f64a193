export {
  buildOcspResponse,
  ocspErrorResponse,
  type ResponderKey,
  responderKey,
} from './build-ocsp-response.ts';
export { decodeGetRequest } from './decode-get-request.ts';
export { loadOcspAuthorities, type OcspAuthorities, type OcspAuthority } from './ocsp-authorities.ts';
export { OCSP_RESPONSE_STATUS, OcspRequestError, type OcspResponseStatus } from './ocsp-errors.ts';
export {
  answerOcspHttp,
  OCSP_HTTP_MAX_AGE_SECONDS,
  type OcspHttpAnswer,
  type OcspHttpRequest,
} from './ocsp-http.ts';
export { CERT_ID_HASHES, OCSP_OIDS } from './ocsp-oids.ts';
export { type OcspAnswer, OcspResponder, type OcspResponderOptions } from './ocsp-responder.ts';
export { MAX_CERT_IDS, MAX_OCSP_REQUEST_BYTES, parseOcspRequest } from './parse-ocsp-request.ts';
export { issueResponderCertificate } from './responder-certificate.ts';
export { ensureResponder } from './responder-store.ts';
