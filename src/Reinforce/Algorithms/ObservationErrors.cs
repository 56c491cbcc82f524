using System.Globalization;
using Reinforce.Spaces;

namespace Reinforce.Algorithms;

/// <summary>
/// The messages for observations that do not fit a policy: they name the space (a Box's shape, a Dict's keys with
/// their shapes and places in the flattened row, an image's CHW layout), say what the wrong size looks like (a key
/// left out, an image in HWC order or with another channel count) and how to fix it.
/// </summary>
internal static class ObservationErrors
{
    /// <summary>
    /// "<paramref name="context"/>: N observation values do not fit …": for <paramref name="values"/> floats given where
    /// whole rows of <paramref name="layout"/> (the flattened form of <paramref name="space"/>, when known) are expected.
    /// </summary>
    public static string WrongSize(string context, int values, ObservationLayout layout, Space? space)
    {
        int size = layout.Size;
        string spaceName = space is null ? $"the policy's observation layout ({Blocks(layout)})" : $"the observation space {space} ({Blocks(layout)})";
        var message = $"{context}: {values} observation value{(values == 1 ? "" : "s")} do not fit {spaceName}: one observation is {size} float{(size == 1 ? "" : "s")}" +
            (layout.IsSingle ? "" : ", the keys flattened one after the other in this order") + ", and a batch is a whole number of them.";
        string? hint = Hint(values, layout);
        if (hint is not null) message += " " + hint;
        message += space is DictSpace or TupleSpace
            ? " Pass the observation itself to agent.FlattenObservation(observation) (a dictionary by key, or an object[] for a Tuple) to get the row, or flatten each key in the order above."
            : $" Pass {size} float{(size == 1 ? "" : "s")} per observation{(space is null ? "" : " (agent.FlattenObservation(observation) flattens a value of the space)")}.";
        return message;
    }

    /// <summary>The blocks of a layout for messages: "key 'camera': image [3, 10, 10] (CHW) at floats 0–299, ...".</summary>
    public static string Blocks(ObservationLayout layout)
    {
        return string.Join("; ", layout.Blocks.Select(b =>
            $"{(b.Key.Length == 0 ? "" : $"key '{b.Key}': ")}{(b.Kind == BlockKind.Image ? "image" : "vector")} {Shape(b.Shape)}{(b.Kind == BlockKind.Image ? " (channels, height, width)" : "")}" +
            (layout.IsSingle ? $", {b.Length} floats" : $" at floats {b.Offset}–{b.Offset + b.Length - 1}")));
    }

    private static string? Hint(int values, ObservationLayout layout)
    {
        var hints = new List<string>();
        var blocks = layout.Blocks;
        // Fewer values than one observation: a key left out (the size of some of the keys), or an image of another size.
        if (values < layout.Size && blocks.Count > 1 && blocks.Count <= 16)
        {
            for (int subset = 1; subset < (1 << blocks.Count) - 1; subset++)
            {
                int sum = 0;
                for (int i = 0; i < blocks.Count; i++) if ((subset & (1 << i)) != 0) sum += blocks[i].Length;
                if (sum != values) continue;
                var left = Enumerable.Range(0, blocks.Count).Where(i => (subset & (1 << i)) == 0).Select(i => $"'{blocks[i].Name}'").ToArray();
                hints.Add($"{values} is the size of the observation without key{(left.Length > 1 ? "s" : "")} {string.Join(", ", left)}: every key of the space must be present.");
                break;
            }
        }
        var image = blocks.FirstOrDefault(b => b.Kind == BlockKind.Image);
        if (image is not null)
        {
            int c = image.Shape[0], h = image.Shape[1], w = image.Shape[2];
            string name = image.Key.Length == 0 ? "The image" : $"Key '{image.Key}'";
            int other = hints.Count > 0 ? 0 : values - (layout.Size - image.Length);   // the values left for the image if the other keys are right
            if (other > 0 && other % (h * w) == 0 && other / (h * w) != c && values < 2 * layout.Size)
                hints.Add($"{name} has {c} channel{(c == 1 ? "" : "s")} of {h}×{w}, but {other} values are {other / (h * w)} plane{(other / (h * w) == 1 ? "" : "s")} of {h}×{w}: another channel count (RGB against grayscale, another frame stack?).");
            else if (other > 0 && other % (h * w) != 0 && values < 2 * layout.Size)
                hints.Add($"{name} is {h}×{w}; an image of another size needs resizing first (ResizeObservation).");
            hints.Add($"Images are channels first, [C, H, W] = {Shape(image.Shape)}: an image in [H, W, C] order ({Shape([h, w, c])}) has as many values in another order, so transpose it first (TransposeImage on the environment; numpy: np.transpose(image, (2, 0, 1))).");
        }
        return hints.Count == 0 ? null : string.Join(" ", hints);
    }

    private static string Shape(int[] shape) => "[" + string.Join(", ", shape.Select(d => d.ToString(CultureInfo.InvariantCulture))) + "]";
}
