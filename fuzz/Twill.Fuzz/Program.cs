using SharpFuzz;
using Twill.Fuzz;

// Twill.Fuzz TARGET            under afl-fuzz: the fork server loop over TARGET (fuzz/run.sh starts it)
// Twill.Fuzz TARGET PATH...    replays files (or every file of a directory) through TARGET, as a
//                              regression check of the corpus and to reproduce a crash with its stack
// Twill.Fuzz list              the target names
// Twill.Fuzz seed FIXTURES OUT the starting corpus (Seeds)
// A target lets through only exceptions its parser does not document, so each one that escapes is a bug.
if (args.Length == 0 || args[0] == "list")
{
    foreach (string name in Targets.All.Keys.Order(StringComparer.Ordinal))
    {
        Console.WriteLine(name);
    }
    return args.Length == 0 ? 2 : 0;
}
if (args[0] == "seed" && args.Length == 3)
{
    return Seeds.Write(args[1], args[2]);
}
if (!Targets.All.TryGetValue(args[0], out Action<byte[]>? target))
{
    Console.Error.WriteLine($"Twill.Fuzz: unknown target '{args[0]}' (Twill.Fuzz list)");
    return 2;
}
if (args.Length == 1)
{
    Fuzzer.Run(stream =>
    {
        using MemoryStream copy = new();
        stream.CopyTo(copy);
        target(copy.ToArray());
    });
    return 0;
}
int failed = 0, ran = 0;
foreach (string file in args.Skip(1).SelectMany(p => Directory.Exists(p) ? Directory.EnumerateFiles(p).Order(StringComparer.Ordinal) : (IEnumerable<string>)[p]))
{
    ran++;
    try
    {
        target(File.ReadAllBytes(file));
    }
    catch (Exception e)
    {
        failed++;
        Console.Error.WriteLine($"{file}: {e}");
    }
}
Console.WriteLine($"{args[0]}: {ran} inputs, {failed} crashed");
return failed == 0 ? 0 : 1;
