fn main() {
    for arg in std::env::args().skip(1) {
        let p = std::path::Path::new(&arg);
        match vlass_fits::verify_file(p) {
            Ok(s) => println!("verify {:?}", s),
            Err(e) => println!("verify error: {e}"),
        }
        match vlass_fits::Image::open(p) {
            Ok(mut im) => {
                println!(
                    "nx {} ny {} planes {} beam {:?} bunit {:?}",
                    im.nx(),
                    im.ny(),
                    im.plane_count(),
                    im.beam(),
                    im.bunit()
                );
                for pl in im.planes() {
                    println!("  {:?}", pl);
                }
                let w = im.wcs();
                match &w {
                    Ok(w) => println!(
                        "  wcs {:?} {:?}",
                        w.pixel_to_world(0.0, 0.0),
                        w.pixel_scale_arcsec()
                    ),
                    Err(e) => println!("  wcs err {e}"),
                }
                let t = std::time::Instant::now();
                let a = im.read_plane(im.plane_count() - 1).unwrap();
                let nan = a.iter().filter(|v| v.is_nan()).count();
                let max = a
                    .iter()
                    .cloned()
                    .filter(|v| v.is_finite())
                    .fold(f32::MIN, f32::max);
                println!(
                    "  read {:?} nan {} max {} in {:?}",
                    a.dim(),
                    nan,
                    max,
                    t.elapsed()
                );
            }
            Err(e) => println!("open error: {e}"),
        }
    }
}
