import { describe, expect, it } from 'vitest';
import {
  DEFAULT_PERIOD_STARTS,
  inPeriod,
  parseServicePeriods,
  periodHours,
  servicePeriods,
} from '../../src/answer/service-periods.js';
import {
  exactSum,
  hourWaits,
  isFrequentService,
  modelOf,
  periodWaits,
  platformWaits,
  splitByModel,
  waitFigures,
  worstServedHour,
  type HourSums,
} from '../../src/answer/wait-rollup.js';

const TWELVE_MINUTES = 720;

/** The sums a platform-hour row carries, from its headways, scheduled headways and lateness values. */
function sums(
  stationId: string,
  hour: number,
  headways: number[],
  scheduled: number[] = [],
  lateness: number[] = [],
): HourSums {
  const sum = (xs: number[]): bigint => exactSum(String(xs.reduce((a, b) => a + b, 0)));
  return {
    stationId,
    stationName: null,
    line: 'Blue',
    direction: 'north',
    hour,
    arrivals: headways.length + 1,
    headways: headways.length,
    sumHeadway: sum(headways),
    sumHeadwaySquared: sum(headways.map((h) => h * h)),
    scheduledHeadways: scheduled.length,
    sumScheduledHeadway: sum(scheduled),
    sumScheduledHeadwaySquared: sum(scheduled.map((h) => h * h)),
    scheduledArrivals: lateness.length,
    sumLateness: sum(lateness),
    sumDelay: sum(lateness.map((l) => Math.max(l, 0))),
    onTimeArrivals: lateness.filter((l) => l >= -60 && l <= 300).length,
  };
}

// Platform A at 08:00: 2 and 10 minutes (the worked example, 260 s) against a 6-minute timetable (180 s).
const A_PEAK = sums('A', 8, [120, 600], [360, 360], [30, 90]);
// Platform A at 03:00: every 20 minutes by the timetable: the timetable model; one train 2 min late, one 30 s early.
const A_NIGHT = sums('A', 3, [1200, 1200], [1200, 1200], [120, -30]);
// Platform B at 08:00: a regular 5 minutes, on time.
const B_PEAK = sums('B', 8, [300, 300, 300], [300, 300, 300], [0, 0, 0]);
const ROWS = [A_PEAK, A_NIGHT, B_PEAK];

describe('service periods', () => {
  it('should cover every hour of the day once with the default periods, the night wrapping past midnight', () => {
    const periods = servicePeriods();
    for (let hour = 0; hour < 24; hour++) expect(periods.filter((p) => inPeriod(p, hour))).toHaveLength(1);
    const of = (hour: number): string => periods.find((p) => inPeriod(p, hour))!.key;
    expect([of(4), of(5), of(7), of(9), of(10), of(16), of(18), of(19), of(22), of(23)]).toEqual([
      'night',
      'early',
      'am_peak',
      'am_peak',
      'midday',
      'pm_peak',
      'pm_peak',
      'evening',
      'night',
      'night',
    ]);
    expect(periods.map(periodHours)).toEqual(['05–07', '07–10', '10–16', '16–19', '19–22', '22–05']);
  });

  it('should parse start hours and refuse anything that is not six increasing hours', () => {
    expect(parseServicePeriods(' 5,7,10,16,19,22 ')).toEqual(servicePeriods(DEFAULT_PERIOD_STARTS));
    expect(parseServicePeriods('0,6,9,15,18,21').find((p) => p.key === 'night')).toMatchObject({
      fromHour: 21,
      toHour: 0,
    });
    for (const bad of ['5,7,10', '7,5,10,16,19,22', '5,7,10,16,19,24', '5,7,x,16,19,22', '5,7,10,16,19,19'])
      expect(() => parseServicePeriods(bad), bad).toThrow(/6 start hours \(0–23, increasing\)/);
    // The text as it was given, not what it parsed to.
    expect(() => parseServicePeriods('peak')).toThrow(/; got "peak"$/);
  });
});

describe('the wait models', () => {
  it('should roll up the random-arrival wait exactly: Σ(Σh²) / (2·Σ(Σh))', () => {
    expect(waitFigures([A_PEAK]).expectedWaitSeconds).toBe(260);
    expect(waitFigures([A_PEAK]).scheduledExpectedWaitSeconds).toBe(180);
    // (14 400 + 360 000 + 3 · 90 000) / (2 · (720 + 900)) = 644 400 / 3 240
    const peak = waitFigures([A_PEAK, B_PEAK]);
    expect(peak.expectedWaitSeconds).toBeCloseTo(198.889, 3);
    expect(peak.scheduledExpectedWaitSeconds).toBeCloseTo(163.333, 3); // 529 200 / 3 240
    expect(peak.meanHeadwaySeconds).toBe(324); // 1 620 / 5
    expect(waitFigures([]).expectedWaitSeconds).toBeNull();
  });

  it('should give long-headway service the timetable model, and service without a timetable the random one', () => {
    expect(modelOf(A_PEAK, TWELVE_MINUTES)).toBe('random-arrival');
    expect(modelOf(A_NIGHT, TWELVE_MINUTES)).toBe('timetable');
    expect(modelOf(A_NIGHT, 1200)).toBe('random-arrival'); // the bound itself is still frequent
    const unscheduled = sums('C', 3, [1800, 1800]);
    expect(modelOf(unscheduled, TWELVE_MINUTES)).toBe('random-arrival');
    expect(isFrequentService(unscheduled, TWELVE_MINUTES)).toBe(false); // judged by its actual headway instead
    expect(isFrequentService(A_PEAK, TWELVE_MINUTES)).toBe(true);
  });

  it('should split a set of headways by model and report lateness where the timetable model applies', () => {
    const split = splitByModel(ROWS, TWELVE_MINUTES);
    expect(split.model).toBe('random-arrival');
    expect(split.timetabledShare).toBeCloseTo(2 / 7, 10);
    expect(split.frequent.expectedWaitSeconds).toBeCloseTo(198.889, 3);
    expect(split.timetabled).toEqual({
      scheduledArrivals: 2,
      meanDelaySeconds: 60, // (120 + 0) / 2: the early train is no delay
      meanLatenessSeconds: 45, // (120 − 30) / 2
      onTimeShare: 1,
    });
    // Over every headway, random arrival: (644 400 + 2 880 000) / (2 · 4 020)
    expect(split.all.expectedWaitSeconds).toBeCloseTo(438.358, 3);
  });
});

describe('periods, hours and platforms', () => {
  it('should headline each period with the model of most of its headways', () => {
    const periods = periodWaits(ROWS, servicePeriods(), TWELVE_MINUTES);
    expect(periods.map((p) => [p.period.key, p.model])).toEqual([
      ['am_peak', 'random-arrival'],
      ['night', 'timetable'],
    ]);
    expect(periods[0]!.frequent.expectedWaitSeconds).toBeCloseTo(198.889, 3);
    expect(periods[1]!.timetabled.meanDelaySeconds).toBe(60);
    expect(periods[1]!.frequent.expectedWaitSeconds).toBeNull();
  });

  it('should pick the worst hour among hours with frequent service, not the thin night', () => {
    const hours = hourWaits(ROWS, TWELVE_MINUTES);
    expect(hours.map((h) => [h.hour, h.all.expectedWaitSeconds])).toEqual([
      [3, 600],
      [8, 644_400 / 3_240],
    ]);
    expect(hours[0]!.frequentShare).toBe(0);
    expect(worstServedHour(hours)?.hour).toBe(8);
    expect(worstServedHour(hourWaits([A_NIGHT], TWELVE_MINUTES))).toBeUndefined();
  });

  it('should give each platform its frequent-service wait and its long-headway lateness', () => {
    const platforms = platformWaits(ROWS, TWELVE_MINUTES);
    expect(platforms.map((p) => p.stationId)).toEqual(['A', 'B']);
    expect(platforms[0]).toMatchObject({ timetabledShare: 0.5 });
    expect(platforms[0]!.frequent.expectedWaitSeconds).toBe(260);
    expect(platforms[0]!.timetabled.meanDelaySeconds).toBe(60);
    expect(platforms[1]!.frequent.expectedWaitSeconds).toBe(150);
  });
});

describe('exact sums', () => {
  it('should read the decimal text Postgres gives a numeric exactly, and refuse any other', () => {
    expect(exactSum('12')).toBe(12_000_000_000_000n);
    expect(exactSum('-12.5')).toBe(-12_500_000_000_000n);
    expect(exactSum('0.000000000001')).toBe(1n);
    expect(exactSum('98765432109876543210.123456789012')).toBe(98765432109876543210123456789012n);
    for (const bad of ['1e5', '0.0000000000001', '', 'NaN', '1.2.3', ' 1'])
      expect(() => exactSum(bad), bad).toThrow(/not a decimal/);
  });

  it('should roll sums up exactly, in any order: doubles would drop the small ones next to a large one', () => {
    const row = (squares: string): HourSums => ({
      ...sums('A', 8, [1]),
      sumHeadway: exactSum('1'),
      sumHeadwaySquared: exactSum(squares),
    });
    const [big, one, other] = [row('9007199254740992'), row('1'), row('1')];
    const forwards = waitFigures([big, one, other]).expectedWaitSeconds;
    // In doubles, 2⁵³ + 1 + 1 is 2⁵³ in this order and 2⁵³ + 2 in the other.
    expect(forwards).toBe(waitFigures([one, other, big]).expectedWaitSeconds);
    expect(forwards).toBe(9007199254740994 / 6);
  });
});
