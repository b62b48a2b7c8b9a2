// Entry point: take the sign-in link's #code= (or adopt a #token= link), then render the dashboard.
import { StrictMode } from 'react'
import { createRoot } from 'react-dom/client'
import { App } from './app.js'
import { adoptTokenFromUrl, takeSignInCode } from './session.js'
import './styles.css'

// Out of the address bar before the first render: the router never sees it, history never keeps it.
const signInCode = takeSignInCode()
adoptTokenFromUrl()
const root = document.getElementById('root')
if (!root) throw new Error('index.html lacks #root')
createRoot(root).render(
  <StrictMode>
    <App signInCode={signInCode} />
  </StrictMode>,
)
