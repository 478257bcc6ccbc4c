// Plain-JavaScript entry of the pino transport, for pino's worker thread: the SDK is TypeScript without a build step
// and a worker thread does not inherit the parent's TypeScript loader, so this file loads the source through tsx's API.
import { tsImport } from 'tsx/esm/api';

const transport = await tsImport('./src/pino-transport.ts', import.meta.url);
export default transport.default;
export const toLogEntry = transport.toLogEntry;
