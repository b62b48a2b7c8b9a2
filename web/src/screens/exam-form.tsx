// Create or edit an exam; server validation errors are shown on the field and in the alert region.
import { useEffect, useState, type FormEvent } from 'react'
import { isHubmirrorError, type ExamInput, type ExamRecord } from '../../../src/client/index.js'
import { useApp } from '../app-context.js'
import { AlertRegion, useAlert } from '../components/alert-region.js'
import { InputField, SelectField } from '../components/form-field.js'
import { MOCK_TYPES } from '../format.js'
import { href, navigate } from '../router.js'
import { useForm } from '../use-form.js'

/** The exam's fields as the form holds them: text, but for the active switch. */
type FormState = { [K in keyof ExamInput]-?: K extends 'is_active' ? boolean : string }

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
  const { form, setForm, setFieldError, bind } = useForm<FormState>(EMPTY)
  const [original, setOriginal] = useState<FormState | null>(null)
  const [loading, setLoading] = useState(examId !== undefined)
  const [busy, setBusy] = useState(false)
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
          <InputField id="ex-name" label="Name" required {...bind('mock_exam_name')} />
          <SelectField id="ex-type" label="Type" {...bind('mock_type')}>
            {[...new Set([...MOCK_TYPES, form.mock_type])].map((t) => (
              <option key={t} value={t}>
                {t}
              </option>
            ))}
          </SelectField>
          <div className="field-row">
            <InputField id="ex-date" label="Date" type="date" required {...bind('exam_date')} />
            <InputField id="ex-start" label="Starts" type="time" required {...bind('start_time')} />
            <InputField id="ex-end" label="Ends" type="time" required {...bind('end_time')} />
          </div>
          <div className="field-row">
            <InputField id="ex-location" label="Location" required {...bind('location')} />
            <InputField
              id="ex-capacity"
              label="Capacity"
              type="number"
              min={1}
              step={1}
              required
              {...bind('capacity')}
            />
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
