// Messages between `bench admin-isolation` (the load generator) and its server child (the whole platform).
export interface Material {
  gatewayOrigin: string;
  publicOrigin: string;
  gatewayPath: string;
  caPem: string;
  clientCert: string;
  clientKey: string;
  accessToken: string;
  operatorToken: string;
  applications: number;
}

export type ParentMessage =
  | { type: 'start'; applications: number; postgresUrl?: string | undefined }
  | { type: 'exit' };

export type ChildMessage = { type: 'started'; material: Material } | { type: 'error'; message: string };
