/** Time is injected so that logic under test never reads the wall clock. */
export type Clock = () => Date;
export const systemClock: Clock = () => new Date();
