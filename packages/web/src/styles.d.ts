// Vite bundles the stylesheet; TypeScript only needs to know the import is valid.
declare module '*.css';
