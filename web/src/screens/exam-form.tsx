// Create or edit an exam; server validation errors are shown on the field and in the alert region.
import { useEffect, useState, type FormEvent } from 'react'
import { isHubmirrorError, type ExamInput, type ExamRecord } from '../../../src/client/index.js'
import { useApp } from '../app-context.js'
import { AlertRegion, useAlert } from '../components/alert-region.js'
import { MOCK_TYPES } from '../format.js'
import { href, navigate } from '../router.js'

interface FormState {
  mock_exam_name: string
  mock_type: string
  exam_date: string
  start_time: string
  end_time: string
  location: string
  capacity: string
  is_active: boolean
}

const EMPTY: FormState = {
  mock_exam_name: '',
  mock_type: MOCK_TYPES[0] as string,
  exam_date: '',
  start_time: '09:00',
  end_time: '12:00',
  location: '',
  capacity: '20',
  is_active: true,
}

function fromExam(exam: ExamRecord): FormState {
  return {
    mock_exam_name: exam.mock_exam_name ?? '',
    mock_type: exam.mock_type ?? (MOCK_TYPES[0] as string),
    exam_date: exam.exam_date ?? '',
    start_time: exam.start_time ?? '',
    end_time: exam.end_time ?? '',
    location: exam.location ?? '',
    capacity: exam.capacity === null ? '' : String(exam.capacity),
    is_active: exam.is_active === 'true',
  }
}

function toInput(f: FormState): ExamInput {
  return {
    mock_exam_name: f.mock_exam_name.trim(),
    mock_type: f.mock_type,
    exam_date: f.exam_date,
    start_time: f.start_time,
    end_time: f.end_time,
    location: f.location.trim(),
    capacity: Number(f.capacity),
    is_active: f.is_active,
  }
}

export function ExamForm({ examId }: { examId?: string }) {
  const { api, can, describeError, toast, markOwnWrite } = useApp()
  const [form, setForm] = useState<FormState>(EMPTY)
  const [original, setOriginal] = useState<FormState | null>(null)
  const [loading, setLoading] = useState(examId !== undefined)
  const [busy, setBusy] = useState(false)
  const [fieldError, setFieldError] = useState<{ field: string; message: string } | null>(null)
  const [alert, setAlert] = useAlert()
  const editing = examId !== undefined

  useEffect(() => {
    if (!examId) return
    let cancelled = false
    api
      .getExam(examId)
      .then(({ exam }) => {
        if (cancelled) return
        const state = fromExam(exam)
        setForm(state)
        setOriginal(state)
      })
      .catch((e) => !cancelled && setAlert(describeError(e)))
      .finally(() => !cancelled && setLoading(false))
    return () => {
      cancelled = true
    }
  }, [api, examId, describeError, setAlert])

  async function submit(e: FormEvent) {
    e.preventDefault()
    setAlert(null)
    setFieldError(null)
    if (form.end_time && form.start_time && form.end_time <= form.start_time) {
      setFieldError({ field: 'end_time', message: 'must be after the start time' })
      setAlert('The end time must be after the start time.')
      return
    }
    setBusy(true)
    try {
      const input = toInput(form)
      if (editing && examId) {
        // Only what changed: a PATCH should not overwrite fields someone else just edited in HubSpot.
        const patch: Partial<ExamInput> = {}
        const before = original ? toInput(original) : null
        for (const key of Object.keys(input) as (keyof ExamInput)[]) {
          if (!before || before[key] !== input[key]) (patch as Record<string, unknown>)[key] = input[key]
        }
        markOwnWrite([examId])
        await api.updateExam(examId, patch)
        toast('Exam saved', 'success')
        navigate(href.exam(examId))
      } else {
        markOwnWrite([`name:${input.mock_exam_name}`])
        const { exam } = await api.createExam(input)
        markOwnWrite([exam.hubspot_id])
        toast('Exam created', 'success')
        navigate(href.exam(exam.hubspot_id))
      }
    } catch (err) {
      if (isHubmirrorError(err) && err.field) {
        setFieldError({ field: err.field.replace(/^body\./, ''), message: err.message })
      }
      setAlert(describeError(err))
    } finally {
      setBusy(false)
    }
  }

  if (!can('exams.edit')) {
    return (
      <div className="screen">
        <h1>{editing ? 'Edit exam' : 'New exam'}</h1>
        <p className="alert" role="alert" data-testid="alert">
          Your token lacks the <code>exams.edit</code> permission.
        </p>
      </div>
    )
  }

  const set = (key: keyof FormState) => (e: { target: { value: string } }) =>
    setForm((f) => ({ ...f, [key]: e.target.value }))
  const invalid = (key: string) =>
    fieldError?.field === key ? { 'aria-invalid': true, 'aria-describedby': `${key}-error` } : {}
  const errorFor = (key: string) =>
    fieldError?.field === key ? (
      <span id={`${key}-error`} className="field__error">
        {fieldError.message}
      </span>
    ) : null

  return (
    <div className="screen screen--narrow">
      <p className="crumbs">
        <a href={editing && examId ? href.exam(examId) : href.overview()}>← Back</a>
      </p>
      <h1>{editing ? 'Edit exam' : 'New exam'}</h1>
      <AlertRegion message={alert} onDismiss={() => setAlert(null)} />
      {loading ? (
        <p className="muted" role="status">
          Loading…
        </p>
      ) : (
        <form className="form card" onSubmit={submit} data-testid="exam-form">
          <div className="field">
            <label htmlFor="ex-name">Name</label>
            <input
              id="ex-name"
              required
              value={form.mock_exam_name}
              onChange={set('mock_exam_name')}
              {...invalid('mock_exam_name')}
            />
            {errorFor('mock_exam_name')}
          </div>
          <div className="field">
            <label htmlFor="ex-type">Type</label>
            <select id="ex-type" value={form.mock_type} onChange={set('mock_type')} {...invalid('mock_type')}>
              {[...new Set([...MOCK_TYPES, form.mock_type])].map((t) => (
                <option key={t} value={t}>
                  {t}
                </option>
              ))}
            </select>
            {errorFor('mock_type')}
          </div>
          <div className="field-row">
            <div className="field">
              <label htmlFor="ex-date">Date</label>
              <input
                id="ex-date"
                type="date"
                required
                value={form.exam_date}
                onChange={set('exam_date')}
                {...invalid('exam_date')}
              />
              {errorFor('exam_date')}
            </div>
            <div className="field">
              <label htmlFor="ex-start">Starts</label>
              <input
                id="ex-start"
                type="time"
                required
                value={form.start_time}
                onChange={set('start_time')}
                {...invalid('start_time')}
              />
              {errorFor('start_time')}
            </div>
            <div className="field">
              <label htmlFor="ex-end">Ends</label>
              <input
                id="ex-end"
                type="time"
                required
                value={form.end_time}
                onChange={set('end_time')}
                {...invalid('end_time')}
              />
              {errorFor('end_time')}
            </div>
          </div>
          <div className="field-row">
            <div className="field">
              <label htmlFor="ex-location">Location</label>
              <input
                id="ex-location"
                required
                value={form.location}
                onChange={set('location')}
                {...invalid('location')}
              />
              {errorFor('location')}
            </div>
            <div className="field">
              <label htmlFor="ex-capacity">Capacity</label>
              <input
                id="ex-capacity"
                type="number"
                min={1}
                step={1}
                required
                value={form.capacity}
                onChange={set('capacity')}
                {...invalid('capacity')}
              />
              {errorFor('capacity')}
            </div>
          </div>
          <div className="field field--check">
            <input
              id="ex-active"
              type="checkbox"
              checked={form.is_active}
              onChange={(e) => setForm((f) => ({ ...f, is_active: e.target.checked }))}
            />
            <label htmlFor="ex-active">Active (open for booking)</label>
          </div>
          <div className="actions">
            <button type="submit" className="button button--primary" disabled={busy} data-testid="exam-form-submit">
              {busy ? 'Saving…' : editing ? 'Save changes' : 'Create exam'}
            </button>
            <a className="button button--quiet" href={editing && examId ? href.exam(examId) : href.overview()}>
              Cancel
            </a>
          </div>
        </form>
      )}
    </div>
  )
}
