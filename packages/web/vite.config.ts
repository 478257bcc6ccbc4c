// Builds the dashboard into dist/ (served by the Logbook server at `/`). Offline and quick: no plugins that fetch.
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

export default defineConfig({
  plugins: [react()],
  base: '/',
  build: { outDir: 'dist', emptyOutDir: true, sourcemap: false, chunkSizeWarningLimit: 1500 },
  // `npm run dev -w packages/web` with a server on :8080 proxies the API (same origin, so the CSP holds).
  server: { proxy: { '/api': 'http://127.0.0.1:8080' } },
});
