# Charts for bench/bench.py. Called as:
#   gnuplot -e "tmp='DIR'; res='DIR'; nserv=N; lat_rate='40k'; have_rates=1; have_lat=1; have_mem=1; nmem=4" bench/charts.gp
# reading tmp/cpu.dat (median, min, max per server and row), tmp/latency.dat and
# tmp/memory.dat (first line: column names).
# A chart whose phase did not run (have_* = 0) is left as it was.
set terminal pngcairo size 800,450 font ",10" noenhanced
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set grid ytics
set key top left autotitle columnheader
set yrange [0:*]

if (have_rates) {
	# cpu.dat holds median, min, max per server: bars with the spread.
	set output res.'/cpu.png'
	set style histogram errorbars gap 1 lw 1
	set title 'Server CPU per answered query (median of the quiet repetitions, bars: min..max; lower is better)'
	set ylabel 'CPU microseconds per query'
	set xlabel 'UDP at the offered rate (dnsperf -Q), TCP (100 connections), random-subdomain flood, signed zone (DO=1)'
	plot for [i=0:nserv-1] tmp.'/cpu.dat' using (column(2+3*i)):(column(3+3*i)):(column(4+3*i)):xtic(1) \
		title columnhead(2+3*i)
	set style histogram clustered gap 1
}

if (have_lat) {
	set output res.'/latency.png'
	set title 'Latency at '.lat_rate.' qps offered (median of repetitions)'
	set ylabel 'microseconds'
	set xlabel ''
	plot for [i=2:3] tmp.'/latency.dat' using i:xtic(1)
}

if (have_mem) {
	set output res.'/memory.png'
	set title 'Memory, median PSS per server (lower is better)'
	set ylabel 'MiB'
	set xlabel ''
	plot for [i=2:nmem+1] tmp.'/memory.dat' using i:xtic(1)
}
