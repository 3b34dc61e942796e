#!/usr/bin/env perl
# The streaming indicators of scripts/lib/lutra/ind.lua: t/ind_test.lua holds
# the tests and prints TAP itself; this runs it under luajit (a dependency in
# etc/debian-packages), with the library folder of this checkout.
use strict;
use warnings;
use FindBin;

my $root = "$FindBin::Bin/..";
exec('luajit', "$FindBin::Bin/ind_test.lua", "$root/scripts/lib")
    or die "t/ind.t: cannot run luajit: $! (install the luajit package)\n";
