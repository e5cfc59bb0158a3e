// Generated from graph/state.py by `python -m icp.ui_props`; do not edit by hand.
// The card props the graph pushes with push_ui_message, field for field.

export type Bucket = "high" | "medium" | "low";

export type JobStatus = "queued" | "running" | "done" | "error" | "cancelled";

/** One scored company, as the chat shows it. */
export interface LeadRow {
  /** The company's id (companies.company_id). */
  company_id: number;
  /** Its Unique Entity Number in the ACRA registry. */
  uen: string;
  /** Registered name. */
  name: string;
  /** Primary SSIC 2020 subclass (5 digits). */
  industry_code: string | null;
  /** The SSIC title of industry_code. */
  industry_norm: string | null;
  /** Lead score 0..100 for this tenant's search. */
  score: number;
  /** high, medium or low (from the score). */
  bucket: Bucket;
  /** Why it scored what it did: the points of each factor (README "Lead score"). */
  rationale: string;
  /** Registry status ("Live Company", "Struck Off", ...); null when unknown. */
  status: string | null;
  /** Whether the registry lists it as live. */
  is_live: boolean | null;
  /** Year of incorporation or registration. */
  incorporation_year: number | null;
  /** Where it is: the area of its postal code ("Jurong East"), else its address. */
  area: string | null;
}

/** Props of the leads card: the companies this turn shows, best first. */
export interface LeadsCard {
  /** The search the companies belong to. */
  terms: string[];
  /** This turn's companies, best first. */
  rows: LeadRow[];
  /** Rank of rows[0] among the search's leads shown in this thread (1, 11, 21, ...). */
  first: number;
  /** Registry companies matching the search. */
  total: number;
  /** Of which live. */
  live: number;
  /** The message the card's "more" action sends; null when there is no next page. */
  more: string | null;
  /** The job scoring the rest of the search. */
  job_id: number | null;
  /** The filters in force, as people say them ("live only", "in Jurong (...)"); the
    companies are live ones unless a filter says otherwise. */
  filters: string[];
}

/** Props of the job card: the search's background job when the chat answered. */
export interface JobCard {
  /** Poll GET /jobs/{job_id} for live progress. */
  job_id: number;
  /** Status when the chat answered. */
  status: JobStatus;
  /** Registry rows the job processes. */
  total: number;
  /** Rows not yet upserted when the chat answered. */
  remaining: number;
  /** False when an identical queued or running job was reused. */
  created: boolean;
  /** ISO 8601 start of the work (a live scheduler's next fire, or now); null: none will. */
  runs_at: string | null;
  /** While running: seconds left at the rows per minute measured; null when not known. */
  eta_seconds: number | null;
  /** The search the job belongs to. */
  terms: string[];
}

/** One industry a term of the request matched. */
export interface SearchGroup {
  /** The term as the user wrote it (normalized). */
  term: string;
  /** The SSIC 2020 code it matched (section letter, division, group, class or subclass). */
  code: string;
  /** section, division, group, class, subclass or phrase. */
  level: string;
  /** The official SSIC 2020 title of code (a section's all-caps title in sentence case). */
  title: string;
  /** Subclasses the term reached. */
  codes: number;
  /** Registry companies with those subclasses. */
  total: number;
  /** Of which live. */
  live: number;
}

/** Props of the search card: what the request matched in SSIC 2020. */
export interface SearchCard {
  /** Industry terms taken from the message. */
  terms: string[];
  /** Each matched industry with its counts. */
  groups: SearchGroup[];
  /** Words of the message that were not used (terms that matched no industry). */
  unused: string[];
  /** Registry companies matching all groups. */
  total: number;
  /** Of which live. */
  live: number;
  /** background, sync_preview or off. */
  mode: string;
}

/** Each card's props by the name the graph pushes it under. */
export interface CardProps {
  leads: LeadsCard;
  job: JobCard;
  search: SearchCard;
}

export type CardName = keyof CardProps;
