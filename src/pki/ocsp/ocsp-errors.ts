/** OCSPResponseStatus (RFC 6960 §4.2.1); 4 is not used. */
export const OCSP_RESPONSE_STATUS = {
  successful: 0,
  malformedRequest: 1,
  internalError: 2,
  tryLater: 3,
  sigRequired: 5,
  unauthorized: 6,
} as const;

export type OcspResponseStatus = keyof typeof OCSP_RESPONSE_STATUS;
export type OcspErrorStatus = Exclude<OcspResponseStatus, 'successful'>;

/** A request answered with an unsuccessful OCSPResponse: the status goes on the wire, the message to logs. */
export class OcspRequestError extends Error {
  readonly status: OcspErrorStatus;
  constructor(status: OcspErrorStatus, message: string) {
    super(message);
    this.name = 'OcspRequestError';
    this.status = status;
  }
}
