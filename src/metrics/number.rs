//! Sample values spelled exactly as Rust's float `Display` spells them (which is
//! the page's contract: the goldens and every earlier page), without going
//! through `fmt` for the values a page is made of: whole numbers (counts, codes,
//! buckets, 0/1 gauges) and decimals of at most 15 significant digits (durations
//! measured in nanoseconds, versions, ratios). Anything else (17-digit values
//! such as `0.1 + 0.2`, huge or tiny ones, infinities, NaN) still goes through
//! `Display`, so no value is ever spelled differently from before.

use std::fmt::Write;

/// 2^53: every integer below it is an exact f64.
pub(super) const EXACT_INTEGERS: f64 = 9_007_199_254_740_992.0;

/// Two ASCII digits per entry: "00", "01", ..., "99".
const PAIRS: &[u8; 200] = b"0001020304050607080910111213141516171819\
2021222324252627282930313233343536373839\
4041424344454647484950515253545556575859\
6061626364656667686970717273747576777879\
8081828384858687888990919293949596979899";

/// 10^0 ..= 10^22: every one an exact f64.
const POW10_F64: [f64; 23] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16,
    1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
];

/// Appends `n` in decimal, as `format!("{n}")` does.
pub fn push_u64(out: &mut String, mut n: u64) {
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    while n >= 100 {
        let pair = (n % 100) as usize * 2;
        n /= 100;
        i -= 2;
        buf[i..i + 2].copy_from_slice(&PAIRS[pair..pair + 2]);
    }
    if n >= 10 {
        let pair = n as usize * 2;
        i -= 2;
        buf[i..i + 2].copy_from_slice(&PAIRS[pair..pair + 2]);
    } else {
        i -= 1;
        buf[i] = b'0' + n as u8;
    }
    // Only ASCII digits were written, so this never fails.
    out.push_str(std::str::from_utf8(&buf[i..]).unwrap_or_default());
}

/// Appends `n` in decimal, as `format!("{n}")` does.
pub fn push_i64(out: &mut String, n: i64) {
    if n < 0 {
        out.push('-');
    }
    push_u64(out, n.unsigned_abs());
}

/// Appends `n` as exactly `width` digits, zero-padded on the left (`n` < 10^width).
fn push_padded(out: &mut String, n: u64, width: usize) {
    let mut buf = [b'0'; 24];
    let mut rest = n;
    let mut i = buf.len();
    while rest > 0 {
        i -= 1;
        buf[i] = b'0' + (rest % 10) as u8;
        rest /= 10;
    }
    let start = buf.len() - width.max(buf.len() - i);
    out.push_str(std::str::from_utf8(&buf[start..]).unwrap_or_default());
}

/// Appends `v` exactly as `format!("{v}")` spells it (`-0` keeps its sign).
pub fn push_f64(out: &mut String, v: f64) {
    if !v.is_finite() {
        let _ = write!(out, "{v}");
        return;
    }
    if v.is_sign_negative() {
        out.push('-');
    }
    let a = v.abs();
    // `a as u64` truncates (and saturates above u64::MAX); comparing it back is
    // the whole-number test without a call to libm's trunc.
    if a < EXACT_INTEGERS && (a as u64) as f64 == a {
        // Display of a whole number is its integer digits, no point, no exponent.
        push_u64(out, a as u64);
    } else if !push_short_decimal(out, a) {
        let _ = write!(out, "{a}");
    }
}

/// Appends the positive finite `a` when its shortest round-tripping decimal has
/// at most 15 significant digits; returns false (writing nothing) otherwise.
///
/// Why this is exactly what `Display` writes: `Display` writes the shortest
/// decimal that reads back as `a`, without exponent. Any two decimals of at most
/// 15 significant digits that both read back as `a` are equal, because they lie
/// within one ulp of `a` (at most 2^-52 of it, about 2.2e-16) while two distinct
/// 15-digit decimals differ by at least 1e-15 of their size. So if a decimal of
/// at most 15 digits reads back as `a`, it is the one `Display` writes. With `k`
/// the least power for which `a * 10^k >= 1e14`, every such decimal is `n / 10^k`
/// for an integer `n < 10^15 + 1`; rounding `a * 10^k` finds that `n` (the
/// product is off by well under 0.5), and `n as f64 / 10^k` is exact arithmetic
/// correctly rounded, i.e. precisely the value the decimal reads back as. If it
/// is not `a`, no decimal of at most 15 digits is, and `Display` takes over.
fn push_short_decimal(out: &mut String, a: f64) -> bool {
    // Below 1e-8 the scale 10^k would not be exact; from 1e15 up a non-integer
    // has more than 15 digits.
    if !(1e-8..1e15).contains(&a) {
        return false;
    }
    let Some(k) = (0..POW10_F64.len()).find(|&k| a * POW10_F64[k] >= 1e14) else {
        return false;
    };
    // Rounded half up by adding 0.5, exact here (the product is at least 1e14,
    // a multiple of 2^-6), rather than by libm's round. Whatever `n` comes out,
    // the check below only lets through one whose decimal reads back as `a`.
    let n = (a * POW10_F64[k] + 0.5) as u64;
    if n as f64 / POW10_F64[k] != a {
        return false;
    }
    // Integer part and k fractional digits, trailing zeros dropped.
    let (int, mut frac, mut digits) = match 10u64.checked_pow(k as u32) {
        Some(p) => (n / p, n % p, k),
        None => (0, n, k),
    };
    push_u64(out, int);
    if frac != 0 {
        while frac % 10 == 0 {
            frac /= 10;
            digits -= 1;
        }
        out.push('.');
        push_padded(out, frac, digits);
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spelled(v: f64) -> String {
        let mut out = String::new();
        push_f64(&mut out, v);
        out
    }

    #[test]
    fn integers_are_spelled_as_format_spells_them() {
        let mut values: Vec<i64> = vec![0, 1, -1, 9, 10, 11, 99, 100, 101, 999, 1000, -1000];
        values.extend([i64::MAX, i64::MIN, i64::MAX - 1, i64::MIN + 1]);
        for e in 0..63 {
            let p = 1i64 << e;
            values.extend([p, p - 1, p + 1, -p, -(p - 1)]);
        }
        for e in 0..19 {
            let p = 10i64.pow(e);
            values.extend([p, p - 1, p + 1, -p, -(p - 1), -(p + 1)]);
        }
        for n in values {
            let mut out = String::new();
            push_i64(&mut out, n);
            assert_eq!(out, format!("{n}"));
        }
        let mut out = String::new();
        push_u64(&mut out, u64::MAX);
        assert_eq!(out, u64::MAX.to_string());
    }

    #[test]
    fn edge_values_are_spelled_as_display_spells_them() {
        let mut values = vec![
            0.0,
            -0.0,
            0.1 + 0.2,
            1e-7,
            1e-8,
            1e-9,
            0.999_999_999_999_999_9,
            1e14,
            1e14 - 0.5,
            1e15 - 0.5,
            1e15 + 0.5,
            123_456_789.125,
            99_999_999_999_999.9,
            0.000_123_456,
            1.1,
            f64::MIN_POSITIVE,
            5e-324,
            f64::MAX,
            f64::EPSILON,
            1e21,
            1e300,
            f64::INFINITY,
            f64::NEG_INFINITY,
        ];
        // 2^53 neighbours, powers of two and ten and their neighbours.
        for e in -80..80 {
            let p = 2f64.powi(e);
            let t = 10f64.powi(e / 3);
            for x in [p, t] {
                values.extend([x, x.next_up(), x.next_down(), x + 1.0, x - 1.0, x + 0.5]);
            }
        }
        for v in values {
            assert_eq!(spelled(v), format!("{v}"), "{v:?}");
            assert_eq!(spelled(-v), format!("{}", -v), "{:?}", -v);
        }
    }

    /// Durations as `Duration::as_secs_f64` makes them, and short decimals of
    /// every length and scale: the values the fast path is for.
    #[test]
    fn measured_and_short_decimals_are_spelled_as_display_spells_them() {
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = || {
            // xorshift64: a fixed sequence, so a failure reproduces.
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        for _ in 0..200_000 {
            let r = next();
            let nanos = r % 100_000_000_000;
            let d = std::time::Duration::from_nanos(nanos).as_secs_f64();
            let digits = 1 + (r >> 40) % 17;
            let mantissa = (next() % 10u64.pow(digits as u32)) as f64;
            let short = mantissa / 10f64.powi(((r >> 50) % 30) as i32);
            let bits = f64::from_bits(next());
            for v in [d, short, bits] {
                assert_eq!(spelled(v), format!("{v}"), "{v:?}");
            }
        }
    }
}
