//! Behaviour of `vlass_qa::preview`: PNG size, orientation, NaN colour, peak
//! marker, stretches, determinism, errors, and zscale limits against
//! astropy's `ZScaleInterval` (golden values in `testdata/header/zscale/`,
//! made by `scripts/golden-qa-writers.sh`).

use std::fs;
use std::path::{Path, PathBuf};

use ndarray::{s, Array2};
use vlass_qa::preview::{write_preview, zscale_limits, PreviewOptions, Stretch};

/// A decoded RGB PNG.
struct Picture {
    width: usize,
    height: usize,
    rgb: Vec<u8>,
}

impl Picture {
    fn read(path: &Path) -> Picture {
        let decoder = png::Decoder::new(fs::File::open(path).expect("png written"));
        let mut reader = decoder.read_info().expect("png header");
        let mut rgb = vec![0; reader.output_buffer_size()];
        let info = reader.next_frame(&mut rgb).expect("png data");
        assert_eq!(info.color_type, png::ColorType::Rgb);
        assert_eq!(info.bit_depth, png::BitDepth::Eight);
        rgb.truncate(info.buffer_size());
        Picture {
            width: info.width as usize,
            height: info.height as usize,
            rgb,
        }
    }

    /// Colour at column `x`, row `row` (row 0 at the top).
    fn at(&self, x: usize, row: usize) -> [u8; 3] {
        let i = (row * self.width + x) * 3;
        [self.rgb[i], self.rgb[i + 1], self.rgb[i + 2]]
    }

    fn pixels(&self) -> impl Iterator<Item = (usize, usize, [u8; 3])> + '_ {
        (0..self.height)
            .flat_map(move |row| (0..self.width).map(move |x| (x, row, self.at(x, row))))
    }
}

const RED: [u8; 3] = [255, 0, 0];
const DARK_BLUE: [u8; 3] = [0, 0, 96];

fn is_grey(c: [u8; 3]) -> bool {
    c[0] == c[1] && c[1] == c[2]
}

/// Deterministic noise with a few bright pixels.
fn noisy_plane(ny: usize, nx: usize) -> Array2<f32> {
    let mut state: u64 = 12345;
    Array2::from_shape_fn((ny, nx), |_| {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((state >> 33) as f32 / (1u64 << 31) as f32 - 0.5) * 1e-3
    })
}

fn render(
    plane: &Array2<f32>,
    peak: Option<(usize, usize)>,
    opts: &PreviewOptions,
) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("p.png");
    write_preview(plane.view(), peak, &out, opts).expect("preview");
    (dir, out)
}

#[test]
fn large_plane_is_shrunk_to_max_size_and_small_one_kept() {
    let (_d, out) = render(&noisy_plane(2000, 3001), None, &PreviewOptions::default());
    let pic = Picture::read(&out);
    // factor ceil(3001 / 1024) = 3.
    assert_eq!((pic.width, pic.height), (1001, 667));
    let opts = PreviewOptions {
        max_size: 64,
        ..PreviewOptions::default()
    };
    let (_d, out) = render(&noisy_plane(50, 64), None, &opts);
    let pic = Picture::read(&out);
    assert_eq!((pic.width, pic.height), (64, 50));
    assert!(pic.pixels().all(|(_, _, c)| is_grey(c)));
}

#[test]
fn nan_is_dark_blue_exactly_where_no_finite_pixel_and_y0_is_the_bottom() {
    let mut plane = noisy_plane(40, 60);
    // Rows y < 10 all NaN; a 2x2 block with one finite pixel stays finite.
    plane.slice_mut(s![..10, ..]).fill(f32::NAN);
    plane.slice_mut(s![20..22, 30..32]).fill(f32::NAN);
    plane[[21, 31]] = 5e-4;
    let opts = PreviewOptions {
        max_size: 30,
        ..PreviewOptions::default()
    };
    let (_d, out) = render(&plane, None, &opts);
    let pic = Picture::read(&out);
    assert_eq!((pic.width, pic.height), (30, 20));
    for (x, row, c) in pic.pixels() {
        let y = pic.height - 1 - row; // preview y of this PNG row
        if y < 5 {
            assert_eq!(c, DARK_BLUE, "({x}, {row}) should be NaN colour");
        } else {
            assert!(is_grey(c), "({x}, {row}) = {c:?} should be grey");
        }
    }
}

#[test]
fn peak_is_marked_with_a_red_ring_leaving_the_peak_visible() {
    let mut plane = noisy_plane(300, 400);
    plane[[120, 250]] = 1.0;
    let (_d, out) = render(&plane, Some((250, 120)), &PreviewOptions::default());
    let pic = Picture::read(&out);
    assert_eq!((pic.width, pic.height), (400, 300));
    let (cx, cy) = (250usize, 300 - 1 - 120);
    assert_eq!(pic.at(cx, cy), [255; 3], "peak drawn white and not covered");
    let radius = 6; // clamp(400 / 64, 5, 24) = 6.25, ring within 1 px
    for (x, row) in [
        (cx + radius, cy),
        (cx - radius, cy),
        (cx, cy + radius),
        (cx, cy - radius),
    ] {
        assert_eq!(pic.at(x, row), RED, "ring at ({x}, {row})");
    }
    let mut red = 0;
    for (x, row, c) in pic.pixels() {
        let d2 = (x as f64 - cx as f64).powi(2) + (row as f64 - cy as f64).powi(2);
        if c == RED {
            red += 1;
            assert!(
                d2.sqrt() <= 6.25 + 2.0 + 3.0 + 0.5,
                "red far from peak at ({x}, {row})"
            );
        } else if d2.sqrt() < 5.0 {
            assert!(is_grey(c), "inside of the ring covered at ({x}, {row})");
        }
    }
    assert!(red > 30, "only {red} red pixels");

    let (_d, out) = render(&plane, None, &PreviewOptions::default());
    assert!(!Picture::read(&out).pixels().any(|(_, _, c)| c == RED));
}

#[test]
fn marker_follows_the_peak_into_a_shrunk_preview_and_is_clipped_at_edges() {
    let plane = noisy_plane(100, 1000);
    let opts = PreviewOptions {
        max_size: 100,
        ..PreviewOptions::default()
    };
    let (_d, out) = render(&plane, Some((999, 0)), &opts);
    let pic = Picture::read(&out);
    assert_eq!((pic.width, pic.height), (100, 10));
    // Peak in the bottom-right preview pixel; ring of radius 5 to its left.
    assert_eq!(pic.at(94, 9), RED);
    assert!(is_grey(pic.at(99, 9)));
}

#[test]
fn asinh_grey_rises_with_value_and_peak_is_white() {
    let plane = Array2::from_shape_fn((8, 200), |(_, x)| (x as f32 - 20.0) * 1e-4);
    let (_d, out) = render(&plane, None, &PreviewOptions::default());
    let pic = Picture::read(&out);
    let greys: Vec<u8> = (0..pic.width).map(|x| pic.at(x, 3)[0]).collect();
    assert!(greys.windows(2).all(|w| w[0] <= w[1]), "{greys:?}");
    assert_eq!(greys[199], 255);
    assert_eq!(greys[0], 0);
}

#[test]
fn zscale_stretch_is_linear_between_the_limits() {
    let values: Vec<f32> = (0..500).map(|i| i as f32).collect();
    let plane = Array2::from_shape_vec((1, 500), values.clone()).unwrap();
    assert_eq!(zscale_limits(&values), Some((0.0, 499.0)));
    let opts = PreviewOptions {
        stretch: Stretch::Zscale,
        ..PreviewOptions::default()
    };
    let (_d, out) = render(&plane, None, &opts);
    let pic = Picture::read(&out);
    for x in [0usize, 100, 250, 499] {
        let expected = (255.0 * x as f64 / 499.0).round() as u8;
        assert_eq!(pic.at(x, 0), [expected; 3], "x = {x}");
    }
}

#[test]
fn same_input_gives_same_bytes_whatever_the_memory_layout() {
    let plane = noisy_plane(123, 77);
    let (_d1, a) = render(&plane, Some((3, 4)), &PreviewOptions::default());
    let (_d2, b) = render(&plane, Some((3, 4)), &PreviewOptions::default());
    assert_eq!(fs::read(&a).unwrap(), fs::read(&b).unwrap());
    // A transposed copy viewed back through reversed axes has other strides.
    let column_major = plane.t().to_owned();
    let dir = tempfile::tempdir().unwrap();
    let c = dir.path().join("c.png");
    write_preview(
        column_major.t(),
        Some((3, 4)),
        &c,
        &PreviewOptions::default(),
    )
    .unwrap();
    assert_eq!(fs::read(&a).unwrap(), fs::read(&c).unwrap());
}

#[test]
fn all_nan_and_constant_planes_still_give_a_picture() {
    let nan = Array2::from_elem((5, 7), f32::NAN);
    let (_d, out) = render(&nan, None, &PreviewOptions::default());
    assert!(Picture::read(&out).pixels().all(|(_, _, c)| c == DARK_BLUE));
    let flat = Array2::from_elem((5, 7), 3.0f32);
    for stretch in [Stretch::Asinh, Stretch::Zscale] {
        let opts = PreviewOptions {
            stretch,
            ..PreviewOptions::default()
        };
        let (_d, out) = render(&flat, None, &opts);
        assert!(Picture::read(&out).pixels().all(|(_, _, c)| c == [128; 3]));
    }
}

#[test]
fn bad_requests_fail_with_one_line_and_leave_no_file() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("x.png");
    let plane = noisy_plane(10, 10);
    let err = write_preview(
        plane.view(),
        Some((10, 2)),
        &out,
        &PreviewOptions::default(),
    )
    .expect_err("peak outside");
    assert_eq!(
        err.to_string(),
        format!(
            "{}: peak pixel (10, 2) is outside the 10 x 10 plane",
            out.display()
        )
    );
    let empty = Array2::<f32>::zeros((0, 4));
    assert!(write_preview(empty.view(), None, &out, &PreviewOptions::default()).is_err());
    let zero = PreviewOptions {
        max_size: 0,
        ..PreviewOptions::default()
    };
    assert!(write_preview(plane.view(), None, &out, &zero).is_err());
    let missing_dir = dir.path().join("no/such/dir/x.png");
    let err = write_preview(plane.view(), None, &missing_dir, &PreviewOptions::default())
        .expect_err("missing directory");
    assert!(err.to_string().contains("cannot write"), "{err}");
    assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[test]
fn zscale_limits_match_astropy() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../testdata/header/zscale");
    let text = fs::read_to_string(dir.join("limits.json")).expect("limits.json");
    let cases: serde_json::Value = serde_json::from_str(&text).expect("json");
    let cases = cases.as_array().expect("list");
    assert!(cases.len() >= 5);
    for case in cases {
        let name = case["name"].as_str().expect("name");
        let (ny, nx) = (
            case["ny"].as_u64().unwrap() as usize,
            case["nx"].as_u64().unwrap() as usize,
        );
        let bytes = fs::read(dir.join(format!("{name}.f32"))).expect("array");
        assert_eq!(bytes.len(), ny * nx * 4, "{name}");
        let values: Vec<f32> = bytes
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect();
        let expected: (f64, f64) = (
            case["vmin"].as_str().unwrap().parse().unwrap(),
            case["vmax"].as_str().unwrap().parse().unwrap(),
        );
        let got = zscale_limits(&values).expect("finite values");
        let scale = (expected.1 - expected.0)
            .abs()
            .max(expected.0.abs())
            .max(1e-30);
        for (ours, theirs) in [(got.0, expected.0), (got.1, expected.1)] {
            assert!(
                (ours - theirs).abs() <= 1e-6 * scale,
                "{name}: ours {got:?}, astropy {expected:?}"
            );
        }
    }
}
