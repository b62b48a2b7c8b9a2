// Entry point: adopt a #token= sign-in link, then render the dashboard.
import { StrictMode } from 'react'
import { createRoot } from 'react-dom/client'
import { App } from './app.js'
import { adoptTokenFromUrl } from './session.js'
import './styles.css'

adoptTokenFromUrl()
const root = document.getElementById('root')
if (!root) throw new Error('index.html lacks #root')
createRoot(root).render(
  <StrictMode>
    <App />
  </StrictMode>,
)
