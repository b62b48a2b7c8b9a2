// Vite build of the admin dashboard: root web/, output web/dist, served by hubmirror at /.
import { fileURLToPath } from 'node:url'
import react from '@vitejs/plugin-react'
import { defineConfig } from 'vite'

const root = fileURLToPath(new URL('.', import.meta.url))
// In `vite dev`, API calls go to a hubmirror server on :3000 (override with HUBMIRROR_URL).
const api = process.env.HUBMIRROR_URL ?? 'http://127.0.0.1:3000'

export default defineConfig({
  root,
  base: '/',
  plugins: [react()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: false,
    chunkSizeWarningLimit: 300,
  },
  server: {
    proxy: {
      // SSE and long-poll pass through the proxy unbuffered.
      '/api': { target: api, changeOrigin: false },
    },
  },
})
