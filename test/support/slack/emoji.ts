/**
 * Emoji names the stand-in knows for reactions. Slack answers invalid_name for a name it does not know and
 * for one written with colons (":eyes:"): pass "eyes". Custom emoji come in through the `emoji` option.
 */
export const STANDARD_EMOJI: readonly string[] = `
  +1 -1 thumbsup thumbsdown eyes white_check_mark heavy_check_mark x negative_squared_cross_mark warning
  rotating_light fire boom mag mag_right hourglass hourglass_flowing_sand stopwatch alarm_clock construction
  wrench hammer hammer_and_wrench gear bulb memo pencil clipboard page_facing_up bookmark pushpin link lock
  unlock key bell no_bell loudspeaker mega speech_balloon thinking_face question grey_question exclamation
  heavy_exclamation_mark bangbang red_circle large_green_circle large_yellow_circle large_blue_circle
  large_orange_circle white_circle black_circle sos ok new up cool tada rocket sparkles star zap sunny cloud
  umbrella snowflake heart broken_heart pray clap muscle wave raised_hands ok_hand point_right point_left
  point_up point_down arrows_counterclockwise repeat recycle no_entry no_entry_sign stop_sign checkered_flag
  triangular_flag_on_post beetle bug ghost robot_face skull see_no_evil shrug smile slightly_smiling_face
  sweat_smile grimacing scream sob 100 1234
`
  .trim()
  .split(/\s+/);
