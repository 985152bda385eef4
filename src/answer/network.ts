/**
 * The simulated metro network: lines with stations in order, a checkpoint between every two stations,
 * scheduled running times, and a timetable whose headway depends on the time of day.
 *
 * The network is the same for every seed, so station ids mean the same station in every run;
 * only the traffic on it depends on the seed.
 */
import { Random } from './random.js';

/** A station passengers wait at. */
export interface Station {
  id: string;
  name: string;
}

/** A stretch of track between two consecutive stations (in the line's forward order). */
export interface Segment {
  /** Scheduled running time between the two stations, seconds. */
  runSeconds: number;
  /** The checkpoint on this segment (a signal or track circuit that reports trains, not a platform). */
  checkpointId: string;
  /** Where the checkpoint sits, as a fraction of the running time from the lower-index station. */
  checkpointAt: number;
}

/** Scheduled minutes between departures in each period of the day. */
export interface HeadwayPlan {
  peak: number;
  offPeak: number;
  late: number;
  night: number;
}

export interface Line {
  /** Shown in events as `line`, e.g. "Blue". */
  name: string;
  /** Prefix of train ids, e.g. "BL" in "BL-1042". */
  code: string;
  /** `directions[0]` runs in the order of `stations`, `directions[1]` the other way. */
  directions: readonly [string, string];
  stations: readonly Station[];
  /** `segments[i]` joins `stations[i]` and `stations[i + 1]`. */
  segments: readonly Segment[];
  headways: HeadwayPlan;
}

/** The periods of the timetable, in hours of the day (UTC); each period runs until the next one starts. */
export const TIMETABLE_PERIODS: ReadonlyArray<{ fromHour: number; period: keyof HeadwayPlan }> = [
  { fromHour: 0, period: 'night' },
  { fromHour: 5, period: 'offPeak' },
  { fromHour: 7, period: 'peak' },
  { fromHour: 9.5, period: 'offPeak' },
  { fromHour: 16.5, period: 'peak' },
  { fromHour: 19, period: 'offPeak' },
  { fromHour: 22, period: 'late' },
];

/** Scheduled dwell at a platform, seconds (longer at peak: more passengers board). */
export const DWELL_SECONDS = { peak: 40, other: 30 } as const;

const SECONDS_PER_HOUR = 3600;
const SECONDS_PER_DAY = 24 * SECONDS_PER_HOUR;
/** Seed of the generator that draws the network's running times: fixed, so the network never changes. */
const NETWORK_SEED = 'eventful-network-v1';
const RUN_SECONDS = { min: 80, max: 170 } as const;
const CHECKPOINT_AT = { min: 0.35, max: 0.65 } as const;

/** Which timetable period a time (seconds since the epoch) falls in. */
export function periodAt(epochSeconds: number): keyof HeadwayPlan {
  const hour = (((epochSeconds % SECONDS_PER_DAY) + SECONDS_PER_DAY) % SECONDS_PER_DAY) / SECONDS_PER_HOUR;
  let period: keyof HeadwayPlan = 'night';
  for (const p of TIMETABLE_PERIODS) if (hour >= p.fromHour) period = p.period;
  return period;
}

/** The scheduled headway, seconds, for a departure from a terminus at `epochSeconds`. */
export function scheduledHeadwaySeconds(line: Line, epochSeconds: number): number {
  return line.headways[periodAt(epochSeconds)] * 60;
}

/** The scheduled dwell, seconds, of a train at a platform at `epochSeconds`. */
export function scheduledDwellSeconds(epochSeconds: number): number {
  return periodAt(epochSeconds) === 'peak' ? DWELL_SECONDS.peak : DWELL_SECONDS.other;
}

interface LinePlan {
  name: string;
  code: string;
  directions: readonly [string, string];
  stations: readonly string[];
  headways: HeadwayPlan;
}

/** The shared interchange every line calls at. */
const INTERCHANGE = 'Central';

// Names include an apostrophe and an ampersand on purpose: reports must escape what they print.
const LINE_PLANS: readonly LinePlan[] = [
  {
    name: 'Blue',
    code: 'BL',
    directions: ['northbound', 'southbound'],
    headways: { peak: 4, offPeak: 10, late: 15, night: 20 },
    stations: [
      'Southgate',
      'Docklands',
      'Harbour Square',
      'Fish Market',
      'Old Town',
      "St. Mary's",
      INTERCHANGE,
      'Museum Quarter',
      'University',
      'Parkside',
      'Mill & Weir',
      'Riverside',
      'Northfield',
      'Hillcrest',
      'Oak Lane',
      'Brookhaven',
      'Airport Road',
      'Northgate Airport',
    ],
  },
  {
    name: 'Red',
    code: 'RD',
    directions: ['eastbound', 'westbound'],
    headways: { peak: 3, offPeak: 8, late: 12, night: 20 },
    stations: [
      'Westend',
      'Lime Street',
      'Canal Basin',
      'Foundry',
      'Market Hall',
      'Theatre Row',
      INTERCHANGE,
      'Cathedral',
      'Exchange',
      'Printworks',
      'Eastbank',
      'Glasshouse',
      'Meadowvale',
      'Eastgate',
    ],
  },
  {
    name: 'Green',
    code: 'GR',
    directions: ['northbound', 'southbound'],
    headways: { peak: 5, offPeak: 12, late: 15, night: 30 },
    stations: [
      'Stadium',
      'Fairview',
      'Kingsbridge',
      'Chapel Hill',
      INTERCHANGE,
      'Library',
      'Observatory',
      'Greenway',
      'Ashford',
      'Willow Park',
      'Summit',
      'Highfield',
    ],
  },
];

const pad3 = (n: number): string => String(n).padStart(3, '0');

/** Builds the network: station ids STN-001… in order of first appearance, checkpoints CHK-001… per segment. */
function buildNetwork(): Line[] {
  const random = new Random(NETWORK_SEED);
  const stationIds = new Map<string, string>();
  let checkpoints = 0;
  return LINE_PLANS.map((plan) => ({
    name: plan.name,
    code: plan.code,
    directions: plan.directions,
    headways: plan.headways,
    stations: plan.stations.map((name) => {
      if (!stationIds.has(name)) stationIds.set(name, `STN-${pad3(stationIds.size + 1)}`);
      return { id: stationIds.get(name)!, name };
    }),
    segments: plan.stations.slice(1).map(() => ({
      runSeconds: random.int(RUN_SECONDS.min, RUN_SECONDS.max),
      checkpointId: `CHK-${pad3(++checkpoints)}`,
      checkpointAt: Math.round(random.between(CHECKPOINT_AT.min, CHECKPOINT_AT.max) * 100) / 100,
    })),
  }));
}

/** The network every simulation runs on: Blue (18 stations), Red (14) and Green (12), meeting at Central. */
export const NETWORK: readonly Line[] = buildNetwork();
