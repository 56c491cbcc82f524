using Reinforce.IO;
using Reinforce.Envs.ClassicControl;

namespace Reinforce.Tests.IO;

public class JsonFileTests
{
    public enum Activation { Tanh, GeluTanh }

    public sealed record Config(string EnvId, int NumEnvs, float LearningRate, Activation Activation, float[] Mean, double[] Var);

    [Fact]
    public void Float_and_double_arrays_round_trip_bit_for_bit()
    {
        var rng = new Rng(9);
        float[] floats = [0.1f, 1f / 3, -0f, float.Epsilon, float.MaxValue, float.MinValue, 1e-40f, float.NaN, float.PositiveInfinity, float.NegativeInfinity,
            .. Enumerable.Range(0, 500).Select(_ => (float)rng.NextGaussian() * MathF.Pow(10, rng.NextInt(20) - 10))];
        double[] doubles = [0.1, 1.0 / 3, -0.0, double.Epsilon, double.MaxValue, 5e-324, double.NaN, double.NegativeInfinity,
            .. Enumerable.Range(0, 500).Select(_ => rng.NextGaussian() * Math.Pow(10, rng.NextInt(40) - 20))];
        var config = new Config("CartPole-v1", 8, 3e-4f, Activation.GeluTanh, floats, doubles);

        var back = JsonFile.Deserialize<Config>(JsonFile.Serialize(config));

        Assert.Equal(floats.Select(BitConverter.SingleToInt32Bits), back.Mean.Select(BitConverter.SingleToInt32Bits));
        Assert.Equal(doubles.Select(BitConverter.DoubleToInt64Bits), back.Var.Select(BitConverter.DoubleToInt64Bits));
        Assert.Equal(3e-4f, back.LearningRate);
    }

    [Fact]
    public void Names_are_snake_case_enums_are_strings_and_floats_are_shortest()
    {
        string json = JsonFile.Serialize(new Config("CartPole-v1", 8, 0.1f, Activation.GeluTanh, [0.1f, float.NaN], [0.1]));
        Assert.Contains("\"env_id\": \"CartPole-v1\"", json);
        Assert.Contains("\"num_envs\": 8", json);
        Assert.Contains("\"learning_rate\": 0.1,", json);
        Assert.Contains("\"activation\": \"gelu_tanh\"", json);
        Assert.Contains("\"NaN\"", json);
    }

    [Fact]
    public void Write_then_Read_and_a_broken_file_names_the_line()
    {
        using var dir = new TempDir();
        string path = dir.File("config.json");
        var config = new Config("Pendulum-v1", 4, 1e-3f, Activation.Tanh, [1f], [2.0]);
        JsonFile.Write(path, config);
        Assert.Equal(config.EnvId, JsonFile.Read<Config>(path).EnvId);

        File.WriteAllText(path, "{\n  \"env_id\": \"x\",\n  \"num_envs\": \"eight\"\n}");
        var ex = Assert.Throws<CheckpointFormatException>(() => JsonFile.Read<Config>(path));
        Assert.Contains(path, ex.Message);
        Assert.Contains("line 3", ex.Message);
    }
}
