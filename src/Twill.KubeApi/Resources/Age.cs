using System.Globalization;

namespace Twill.KubeApi.Resources;

/// <summary>The AGE column: apimachinery's duration.HumanDuration of the time since a timestamp.</summary>
internal static class Age
{
    public static string Since(string? timestamp, DateTime now)
    {
        if (timestamp is null || !DateTime.TryParse(timestamp, CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal, out DateTime t))
        {
            return "<unknown>";
        }
        return Human(now - t);
    }

    public static string Human(TimeSpan d)
    {
        if (d < TimeSpan.FromSeconds(-1))
        {
            return "<invalid>";
        }
        if (d < TimeSpan.Zero)
        {
            return "0s";
        }
        long seconds = (long)d.TotalSeconds;
        long minutes = (long)d.TotalMinutes;
        long hours = (long)d.TotalHours;
        long days = hours / 24;
        long years = days / 365;
        return seconds < 120 ? $"{seconds}s"
            : minutes < 10 ? Units(minutes, "m", seconds % 60, "s")
            : minutes < 180 ? $"{minutes}m"
            : hours < 8 ? Units(hours, "h", minutes % 60, "m")
            : hours < 48 ? $"{hours}h"
            : hours < 24 * 8 ? Units(days, "d", hours % 24, "h")
            : hours < 24 * 365 * 2 ? $"{days}d"
            : hours < 24 * 365 * 8 ? Units(years, "y", days % 365, "d")
            : $"{years}y";
    }

    /// <summary>"3m" or "3m20s": the smaller unit is shown only when it is not zero.</summary>
    private static string Units(long whole, string unit, long rest, string restUnit) =>
        rest == 0 ? $"{whole}{unit}" : $"{whole}{unit}{rest}{restUnit}";
}
