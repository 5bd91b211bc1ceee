// Re-exports the codecs command definitions use (keeps definitions.ts's import list in one place).
export { bool } from '../marshal/codec';
export * from '../types';
