// peers: decode PGM frames with zbar or zxing-cpp, the decoders kioskd is
// measured against. Built and driven by the Go program beside it (see
// README.md); each library is called the plain way: QR only, upright.
//
//   peers zbar|zxing rate FILE.pgm...      one line per file: path, 1/0, hex of the text
//   peers zbar|zxing time N FILE.pgm...    one line per file: path, CPU ns and wall ns per decode
// zbar's C++ headers first: ZXing defines macros that clash with them.
#include <zbar.h>
#define ZX_USE_UTF8 1
#include <ZXing/ReadBarcode.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

struct Gray {
	int w = 0, h = 0;
	std::vector<unsigned char> pix;
};

// readPGM reads a binary 8-bit PGM (as written by scanner.EncodePGM).
static bool readPGM(const char* path, Gray& g) {
	std::ifstream f(path, std::ios::binary);
	if (!f) return false;
	std::string magic;
	int maxv = 0;
	f >> magic >> g.w >> g.h >> maxv;
	if (magic != "P5" || g.w <= 0 || g.h <= 0 || maxv != 255) return false;
	f.get();
	g.pix.resize(size_t(g.w) * g.h);
	f.read(reinterpret_cast<char*>(g.pix.data()), g.pix.size());
	return bool(f);
}

struct Zbar {
	zbar::zbar_image_scanner_t* sc;
	Zbar() {
		sc = zbar::zbar_image_scanner_create();
		zbar::zbar_image_scanner_set_config(sc, zbar::ZBAR_NONE, zbar::ZBAR_CFG_ENABLE, 0);
		zbar::zbar_image_scanner_set_config(sc, zbar::ZBAR_QRCODE, zbar::ZBAR_CFG_ENABLE, 1);
	}
	~Zbar() { zbar::zbar_image_scanner_destroy(sc); }
	bool decode(const Gray& g, std::string& text) {
		zbar::zbar_image_t* img = zbar::zbar_image_create();
		zbar::zbar_image_set_format(img, zbar_fourcc('Y', '8', '0', '0'));
		zbar::zbar_image_set_size(img, g.w, g.h);
		zbar::zbar_image_set_data(img, g.pix.data(), g.pix.size(), nullptr);
		int n = zbar::zbar_scan_image(sc, img);
		bool ok = false;
		if (n > 0) {
			const zbar::zbar_symbol_t* s = zbar::zbar_image_first_symbol(img);
			if (s) {
				text.assign(zbar::zbar_symbol_get_data(s), zbar::zbar_symbol_get_data_length(s));
				ok = true;
			}
		}
		zbar::zbar_image_destroy(img);
		return ok;
	}
};

struct Zxing {
	ZXing::DecodeHints hints;
	Zxing() {
		hints.setFormats(ZXing::BarcodeFormat::QRCode);
		hints.setTryRotate(false);
	}
	bool decode(const Gray& g, std::string& text) {
		ZXing::ImageView v(g.pix.data(), g.w, g.h, ZXing::ImageFormat::Lum);
		auto r = ZXing::ReadBarcode(v, hints);
		if (!r.isValid()) return false;
		text = r.text();
		return true;
	}
};

static double cpuNow() {
	timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

template <class D>
static int run(D& d, const char* mode, int argc, char** argv) {
	if (!strcmp(mode, "rate")) {
		for (int i = 0; i < argc; i++) {
			Gray g;
			std::string text;
			bool ok = readPGM(argv[i], g) && d.decode(g, text);
			printf("%s\t%d\t", argv[i], ok ? 1 : 0);
			for (unsigned char c : text) printf("%02x", c);
			printf("\n");
		}
		return 0;
	}
	if (!strcmp(mode, "time") && argc >= 1) {
		int n = atoi(argv[0]);
		for (int i = 1; i < argc; i++) {
			Gray g;
			if (!readPGM(argv[i], g)) {
				fprintf(stderr, "peers: cannot read %s\n", argv[i]);
				return 1;
			}
			std::string text;
			d.decode(g, text);  // warm up
			double c0 = cpuNow();
			auto w0 = std::chrono::steady_clock::now();
			for (int k = 0; k < n; k++) d.decode(g, text);
			double c1 = cpuNow();
			auto w1 = std::chrono::steady_clock::now();
			double wall = std::chrono::duration<double, std::nano>(w1 - w0).count();
			printf("%s\t%.0f\t%.0f\n", argv[i], (c1 - c0) / n, wall / n);
		}
		return 0;
	}
	fprintf(stderr, "peers: unknown mode %s\n", mode);
	return 2;
}

int main(int argc, char** argv) {
	if (argc < 3) {
		fprintf(stderr, "usage: peers zbar|zxing rate|time [N] FILE.pgm...\n");
		return 2;
	}
	if (!strcmp(argv[1], "zbar")) {
		Zbar d;
		return run(d, argv[2], argc - 3, argv + 3);
	}
	if (!strcmp(argv[1], "zxing")) {
		Zxing d;
		return run(d, argv[2], argc - 3, argv + 3);
	}
	fprintf(stderr, "peers: unknown library %s\n", argv[1]);
	return 2;
}
