// Hash routing: a handful of screens, addressable and bookmarkable without a router dependency.
import { useEffect, useState } from 'react'

export type Route =
  | { name: 'overview' }
  | { name: 'exam'; id: string }
  | { name: 'exam-new' }
  | { name: 'exam-edit'; id: string }
  | { name: 'exam-roster'; id: string }
  | { name: 'students'; q: string }
  | { name: 'sync' }
  | { name: 'not-found'; path: string }

export function parseRoute(hash: string): Route {
  const path = hash.replace(/^#/, '').replace(/\?.*$/, '') || '/'
  const query = new URLSearchParams(/\?(.*)$/.exec(hash)?.[1] ?? '')
  if (path === '/' || path === '/exams') return { name: 'overview' }
  if (path === '/sync') return { name: 'sync' }
  if (path === '/exams/new') return { name: 'exam-new' }
  if (path === '/students') return { name: 'students', q: query.get('q') ?? '' }
  let m = /^\/exams\/([^/]+)\/edit$/.exec(path)
  if (m?.[1]) return { name: 'exam-edit', id: decodeURIComponent(m[1]) }
  m = /^\/exams\/([^/]+)\/roster$/.exec(path)
  if (m?.[1]) return { name: 'exam-roster', id: decodeURIComponent(m[1]) }
  m = /^\/exams\/([^/]+)$/.exec(path)
  if (m?.[1]) return { name: 'exam', id: decodeURIComponent(m[1]) }
  return { name: 'not-found', path }
}

export const href = {
  overview: () => '#/',
  exam: (id: string) => `#/exams/${encodeURIComponent(id)}`,
  examNew: () => '#/exams/new',
  examEdit: (id: string) => `#/exams/${encodeURIComponent(id)}/edit`,
  examRoster: (id: string) => `#/exams/${encodeURIComponent(id)}/roster`,
  students: (q: string) => `#/students?${new URLSearchParams({ q })}`,
  sync: () => '#/sync',
}

export function navigate(to: string): void {
  window.location.hash = to.replace(/^#/, '')
}

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(window.location.hash))
  useEffect(() => {
    const onChange = () => setRoute(parseRoute(window.location.hash))
    window.addEventListener('hashchange', onChange)
    return () => window.removeEventListener('hashchange', onChange)
  }, [])
  return route
}
